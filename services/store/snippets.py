"""Snippets safe to show: HTML-escaped text, with search matches wrapped in ``<mark>``.

Used by the writer (an article's plain opening is computed once, when it is stored: see
``db.writes``) and by the read API (search snippets). The database marks matches with private-use
characters; the text is escaped first and the markers become tags afterwards, so markup inside an
article never renders.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

import Stemmer  # PyStemmer: the Snowball stemmers, as in Postgres's text search

from services.store.tsquery_text import TOKEN, token_of

# Without a query the snippet is the body's opening, trimmed to a word boundary.
PLAIN_SNIPPET_MAX_CHARS = 280
# Private-use characters mark a highlighted match; the text is escaped, then they become <mark>.
MATCH_START = "\ue000"
MATCH_STOP = "\ue001"
_WHITESPACE = re.compile(r"\s+")
_ELLIPSIS = "…"


def highlighted(raw: str) -> str:
    """A ts_headline excerpt as HTML-safe text with <mark> around the matches."""
    # split/join: the same whitespace as re's \s (str.isspace), collapsed and stripped, at C speed.
    text = html.escape(" ".join(raw.split()), quote=False)
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
    for item in TOKEN.finditer(tsquery_text):
        lexeme, operator = token_of(item)
        if operator == "!":
            negate_next = True
        elif operator == "(":
            negated_groups.append(negate_next or any(negated_groups[-1:]))
            negate_next = False
        elif operator == ")":
            if negated_groups:
                negated_groups.pop()
        elif lexeme is not None:  # & | and phrase operators change nothing here
            if not negate_next and not any(negated_groups[-1:]):
                found.add(lexeme)
            negate_next = False
    return frozenset(found)


@lru_cache(maxsize=4096)
def _lexeme_pattern(lexeme: str) -> re.Pattern[str]:
    """Candidate words for one lexeme in lower-cased text: those starting like it.

    A stem is its word's start but for a final y->i ('studi' for "study"), so one letter less is
    searched. The pattern starts with a literal, which the regex engine scans for quickly.
    """
    if _WORD_CHARS.match(lexeme):
        return re.compile(re.escape(lexeme[:-1] if len(lexeme) > 2 else lexeme) + r"\w*")
    # 'u.s.', 'tehreek-e-insaf': the parser keeps such tokens whole; match them as written.
    return re.compile(re.escape(lexeme) + r"(?!\w)")


def _matches(body: str, lexemes: frozenset[str]) -> list[tuple[int, int]]:
    """Spans of the body's words whose English stem is one of the lexemes, in text order."""
    lowered = body.lower()
    if len(lowered) != len(body):  # a character whose lower case is longer: offsets would drift
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in body)
    spans = []
    for lexeme in lexemes:
        for found in _lexeme_pattern(lexeme).finditer(lowered):
            start = found.start()
            if start and (lowered[start - 1].isalnum() or lowered[start - 1] == "_"):
                continue  # inside a word, not at its start
            word = found.group(0)
            if word == lexeme or _stemmer.stemWord(word) == lexeme or not _WORD_CHARS.match(lexeme):
                spans.append(found.span())
    spans.sort()
    # One word can be a candidate for two lexemes (overlapping prefixes): keep it once.
    return [span for i, span in enumerate(spans) if i == 0 or span[0] >= spans[i - 1][1]]


@lru_cache(maxsize=64)
def _words_after(count: int) -> re.Pattern[str]:
    return re.compile(rf"\S+(?:\s+\S+){{0,{max(0, count - 1)}}}")


_WORDS_BEFORE = re.compile(rf"\s*(?:\S+\s+){{0,{FRAGMENT_WORDS_BEFORE - 1}}}\S+")


def _fragment(body: str, first: int, floor: int = 0) -> tuple[int, int]:
    """The characters of a fragment of about FRAGMENT_WORDS words that starts a little before ``first``.

    It never starts before ``floor`` (the end of the previous fragment).
    """
    lo = max(floor, first - _REACH_BEFORE)
    start, words_before = first, 0
    # The words before, read backwards: one forward match over the reversed reach.
    before = _WORDS_BEFORE.match(body[lo:first][::-1])
    if before is not None:
        start = first - before.end()
        words_before = len(body[start:first].split())
        if start == lo and lo > floor and not body[lo - 1].isspace():
            # The reach began inside a word: drop that partial word.
            rest = body[start:first].split(None, 1)
            start = first - len(rest[1]) if len(rest) == 2 else first
            words_before -= 1
    after = _words_after(FRAGMENT_WORDS - words_before).match(body, first, min(len(body), first + _REACH_AFTER))
    end = after.end() if after is not None else min(len(body), first + 1)
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
