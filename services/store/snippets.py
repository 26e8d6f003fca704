"""Snippets safe to show: HTML-escaped text, with search matches wrapped in ``<mark>``.

Used by the writer (an article's plain opening is computed once, when it is stored: see
``db.writes``) and by the read API (search snippets). The database marks matches with private-use
characters; the text is escaped first and the markers become tags afterwards, so markup inside an
article never renders.
"""

from __future__ import annotations

import html
import re

import Stemmer  # PyStemmer: the Snowball stemmers, as in Postgres's text search

# Without a query the snippet is the body's opening, trimmed to a word boundary.
PLAIN_SNIPPET_MAX_CHARS = 280
# Private-use characters mark a highlighted match; the text is escaped, then they become <mark>.
MATCH_START = "\ue000"
MATCH_STOP = "\ue001"
_WHITESPACE = re.compile(r"\s+")
_ELLIPSIS = "…"


def highlighted(raw: str) -> str:
    """A ts_headline excerpt as HTML-safe text with <mark> around the matches."""
    text = html.escape(_WHITESPACE.sub(" ", raw).strip(), quote=False)
    return text.replace(MATCH_START, "<mark>").replace(MATCH_STOP, "</mark>")


def opening(body: str) -> str:
    """The start of a body as HTML-safe text, cut at a word boundary when it was truncated."""
    raw = body[:PLAIN_SNIPPET_MAX_CHARS]
    text = _WHITESPACE.sub(" ", raw.replace(MATCH_START, "").replace(MATCH_STOP, "")).strip()
    if len(raw) >= PLAIN_SNIPPET_MAX_CHARS and " " in text:
        text = text.rsplit(" ", 1)[0].rstrip(",;:") + _ELLIPSIS
    return html.escape(text, quote=False)


# --- search snippets -----------------------------------------------------------------------------
# Highlighting here instead of with ts_headline: ts_headline re-parses every listed body with the
# text-search parser (~0.6 ms per 2,000-character article, measured on 100k articles: most of a
# search page's SQL time), while finding the query's words needs only a regular expression over
# the body and an English stem of each candidate word (the Snowball stemmer Postgres's 'english'
# configuration uses). Postgres still decides which articles match; this only marks the words.
FRAGMENT_WORDS = 35  # like ts_headline's MaxWords
FRAGMENT_WORDS_BEFORE = 8  # context kept before the first match of a fragment
MAX_FRAGMENTS = 2  # like ts_headline's MaxFragments
FRAGMENT_DELIMITER = " … "
# How far around a match a fragment may reach, in characters (35 words of English are ~220).
_REACH_BEFORE = 120
_REACH_AFTER = 400
_QUERY_ITEM = re.compile(r"'((?:[^']|'')*)'|[!()]")
_WORDS = re.compile(r"\S+")
_WORD_CHARS = re.compile(r"^\w+$")
_stemmer = Stemmer.Stemmer("english")


def query_lexemes(tsquery_text: str) -> frozenset[str]:
    """The lexemes a search should highlight, from a tsquery as Postgres prints it.

    ``'nuclear' <-> 'test' & !'trump'`` gives {nuclear, test}: an excluded word (``-trump`` in the
    request) is never in a matching article's text worth showing, so it is not highlighted.
    """
    found: set[str] = set()
    negated_groups: list[bool] = []
    negate_next = False
    for item in _QUERY_ITEM.finditer(tsquery_text):
        token = item.group(0)
        if token == "!":
            negate_next = True
        elif token == "(":
            negated_groups.append(negate_next or any(negated_groups[-1:]))
            negate_next = False
        elif token == ")":
            if negated_groups:
                negated_groups.pop()
        else:
            if not negate_next and not any(negated_groups[-1:]):
                found.add(item.group(1).replace("''", "'"))
            negate_next = False
    return frozenset(found)


def _match_pattern(lexemes: frozenset[str]) -> re.Pattern[str] | None:
    """Candidate words: those starting like a lexeme (a stem is its word's start, but for a final y->i)."""
    parts = []
    for lexeme in sorted(lexemes, key=len, reverse=True):
        if _WORD_CHARS.match(lexeme):
            parts.append(r"\b" + re.escape(lexeme[:-1] if len(lexeme) > 2 else lexeme) + r"\w*")
        else:  # 'u.s.', 'tehreek-e-insaf': the parser keeps such tokens whole; match them as written
            parts.append(r"(?<!\w)" + re.escape(lexeme) + r"(?!\w)")
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


def _matches(body: str, lexemes: frozenset[str]) -> list[tuple[int, int]]:
    pattern = _match_pattern(lexemes)
    if pattern is None:
        return []
    spans = []
    for found in pattern.finditer(body):
        word = found.group(0).lower()
        if word in lexemes or _stemmer.stemWord(word) in lexemes:
            spans.append(found.span())
    return spans


def _fragment(body: str, first: int, floor: int = 0) -> tuple[int, int]:
    """The characters of a fragment of about FRAGMENT_WORDS words that starts a little before ``first``.

    It never starts before ``floor`` (the end of the previous fragment).
    """
    lo = max(floor, first - _REACH_BEFORE)
    before = [m.start() for m in _WORDS.finditer(body, lo, first)]
    if lo > 0 and before and not body[before[0] - 1].isspace():
        before = before[1:]  # the reach began inside a word
    start = before[-FRAGMENT_WORDS_BEFORE:][0] if before else first
    words_before = min(len(before), FRAGMENT_WORDS_BEFORE)
    after = list(_WORDS.finditer(body, first, min(len(body), first + _REACH_AFTER)))
    kept = after[: max(1, FRAGMENT_WORDS - words_before)]
    end = kept[-1].end() if kept else min(len(body), first + 1)
    return start, end


def search_snippet(body: str, lexemes: frozenset[str]) -> str:
    """Up to two fragments of the body around the query's words, HTML-safe, with each match in <mark>.

    When the body holds none of the words (the title matched), the body's first words.
    """
    spans = _matches(body, lexemes)
    fragments: list[tuple[int, int]] = []
    for span_start, _ in spans:
        if len(fragments) == MAX_FRAGMENTS:
            break
        if not fragments or span_start >= fragments[-1][1]:
            fragments.append(_fragment(body, span_start, fragments[-1][1] if fragments else 0))
    if not fragments:
        fragments = [_fragment(body, 0)] if body else []
    out: list[str] = []
    previous_end = None
    for start, end in fragments:
        if previous_end is not None:
            # Fragments that touch read as one passage; a gap between them is shown.
            out.append(" " if not body[previous_end:start].strip() else FRAGMENT_DELIMITER)
        marked, cursor = [], start
        for span_start, span_end in spans:
            if span_start >= start and span_end <= end:
                marked += [body[cursor:span_start], MATCH_START, body[span_start:span_end], MATCH_STOP]
                cursor = span_end
        marked.append(body[cursor:end])
        out.append(highlighted("".join(marked)))
        previous_end = end
    return "".join(out)
