"""How many articles a search should match, from the search column's statistics, without asking the planner.

A date-sorted or relevance search sizes its window by the share of the archive it is expected to
match. Asking the planner (``EXPLAIN``) took ~0.5 ms a search on 100k articles, most of it the
planner reading the search column's 10,000 most common lexemes from pg_statistic for each
statement. Here they are read once every few minutes (like the ingest-time histogram) and the
query, as Postgres parsed it, is estimated the way the planner does (``ts_selfuncs.c``): a lexeme
among the most common has its frequency, any other half the least common one's (at most 0.005);
AND and phrase multiply, OR adds less the overlap, NOT complements. Statistics, not results: a
wrong share makes a window too large or too small, which the listing detects, never wrong rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from services.store.db.listing.statistics_cache import CachedStatistics
from services.store.tsquery_text import TOKEN, token_of

# The planner's selectivity for a lexeme it has no statistics for (DEFAULT_TS_MATCH_SEL).
DEFAULT_LEXEME_SHARE = 0.005

_STATISTICS_SQL = b"""
    SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs,
           (SELECT d.null_frac FROM pg_stats d
            WHERE d.schemaname = current_schema() AND d.tablename = 'articles' AND d.attname = 'duplicate_of')
    FROM pg_stats s
    WHERE s.schemaname = current_schema() AND s.tablename = 'articles' AND s.attname = 'search'
"""


class _Unparsed(Exception):
    """The text is not a tsquery this module reads (the caller asks the planner instead)."""


@dataclass
class LexemeStatistics(CachedStatistics):
    """The search column's most common lexemes and their frequencies, and the share of originals."""

    frequencies: dict[str, float] = field(default_factory=dict)
    least_frequency: float = 0.0
    original_share: float = 1.0
    read_at: float = -math.inf
    statistics_sql = _STATISTICS_SQL

    def read(self, row: tuple[Any, ...] | None) -> None:
        self.frequencies, self.least_frequency, self.original_share = {}, 0.0, 1.0
        if row is not None:
            lexemes, frequencies, duplicates_null_share = row
            # As the planner requires: one frequency per lexeme, then the least and the greatest.
            if lexemes and frequencies and len(frequencies) == len(lexemes) + 2:
                self.frequencies = dict(zip(lexemes, map(float, frequencies), strict=False))
                self.least_frequency = float(frequencies[-2])
            if duplicates_null_share is not None:
                self.original_share = float(duplicates_null_share)

    def share(self, tsquery_text: str, *, originals_only: bool) -> float | None:
        """The share of the archive expected to match; None without statistics or for a query not read here."""
        if not self.frequencies or not tsquery_text.strip():
            return None
        try:
            share = _Estimate(tsquery_text, self).whole()
        except _Unparsed:
            return None
        return share * self.original_share if originals_only else share

    def lexeme_share(self, lexeme: str) -> float:
        found = self.frequencies.get(lexeme)
        return found if found is not None else min(DEFAULT_LEXEME_SHARE, self.least_frequency / 2)


class _Estimate:
    """A recursive-descent reading of a tsquery's text, combining shares as it goes.

    Precedence as Postgres prints it: ! binds tightest, then phrase (<->, <N>), then &, then |.
    """

    def __init__(self, text: str, statistics: LexemeStatistics) -> None:
        self._tokens: list[tuple[str | None, str | None]] = []
        position = 0
        text = text.rstrip()
        while position < len(text):
            found = TOKEN.match(text, position)
            if found is None:
                raise _Unparsed(text)
            self._tokens.append(token_of(found))
            position = found.end()
        self._next = 0
        self._statistics = statistics

    def whole(self) -> float:
        share = self._any()
        if self._next != len(self._tokens):
            raise _Unparsed("trailing tokens")
        return share

    def _peek(self) -> str | None:
        return self._tokens[self._next][1] if self._next < len(self._tokens) else None

    def _any(self) -> float:
        share = self._all()
        while self._peek() == "|":
            self._next += 1
            other = self._all()
            share = _clamped(share + other - share * other)
        return share

    def _all(self) -> float:
        share = self._phrase()
        while self._peek() == "&":
            self._next += 1
            share = _clamped(share * self._phrase())
        return share

    def _phrase(self) -> float:
        share = self._one()
        while (operator := self._peek()) is not None and operator.startswith("<"):
            self._next += 1
            share = _clamped(share * self._one())
        return share

    def _one(self) -> float:
        if self._next >= len(self._tokens):
            raise _Unparsed("an operand expected")
        lexeme, operator = self._tokens[self._next]
        self._next += 1
        if lexeme is not None:
            return self._statistics.lexeme_share(lexeme)
        if operator == "!":
            return _clamped(1.0 - self._one())
        if operator == "(":
            share = self._any()
            if self._peek() != ")":
                raise _Unparsed("unbalanced parenthesis")
            self._next += 1
            return share
        raise _Unparsed(f"unexpected {operator!r}")


def _clamped(share: float) -> float:
    return min(max(share, 0.0), 1.0)
