"""ALL-CAPS text (wire headlines, datelines like "LONDON 1996-08-30") made readable for NER.

spaCy's small model relies on capitalisation: in "LEICESTERSHIRE TAKE OVER AT TOP" every word
looks like a name, or none does. Lines written in capitals are re-cased word by word before
tagging; the text keeps its length, so every entity's offsets still point at the original
characters and mentions are reported as they appear ("LEICESTERSHIRE").
"""

from __future__ import annotations

import re
from functools import lru_cache

# A line is "shouting" when most of its letters are capitals and it has a few words.
_MIN_UPPER_RATIO = 0.8
_MIN_LETTERS = 4
_LINE = re.compile(r"[^\n]+")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
# Short capitalised tokens are usually acronyms (PTI, UAE, BBC): kept, unless a function word.
_MAX_ACRONYM_LETTERS = 3
_SHORT_WORDS = frozenset(
    {
        "A",
        "AN",
        "THE",
        "AND",
        "OR",
        "BUT",
        "NOR",
        "OF",
        "IN",
        "ON",
        "AT",
        "TO",
        "BY",
        "AS",
        "FOR",
        "OFF",
        "OUT",
        "UP",
        "IS",
        "IT",
        "ITS",
        "BE",
        "ARE",
        "WAS",
        "HAS",
        "HAD",
        "NOT",
        "NO",
        "NEW",
        "OLD",
        "TOP",
        "WIN",
        "WON",
        "BIG",
        "END",
        "SET",
        "GET",
        "GOT",
        "SAY",
        "SEE",
        "TWO",
        "ONE",
        "SIX",
        "TEN",
        "NOW",
        "YET",
        "ALL",
        "HIS",
        "HER",
        "HE",
        "SHE",
        "WE",
        "VS",
        "V",
    }
)


# Texts whose ALL-CAPS spans are remembered: the articles of one step, with room to spare.
_SPAN_CACHE_TEXTS = 256


def _is_shouting(line: str) -> bool:
    # map() over str methods runs in C: a list of letters per line was ~2 s per 227 BBC articles.
    letters = sum(map(str.isalpha, line))
    if letters < _MIN_LETTERS:
        return False
    return sum(map(str.isupper, line)) / letters >= _MIN_UPPER_RATIO  # only letters are upper case


def _recase_word(match: re.Match[str]) -> str:
    word = match.group(0)
    if not word.isupper() or (len(word) <= _MAX_ACRONYM_LETTERS and word not in _SHORT_WORDS):
        return word
    # Lower-case letter by letter, only where that keeps the length (offsets must not move).
    rest = "".join(c.lower() if len(c.lower()) == 1 else c for c in word[1:])
    return word[0] + rest


def restore_case(text: str) -> str:
    """``text`` with its ALL-CAPS lines in Title Case, same length and offsets."""

    def recase_line(match: re.Match[str]) -> str:
        line = match.group(0)
        return _WORD.sub(_recase_word, line) if _is_shouting(line) else line

    return _LINE.sub(recase_line, text)


@lru_cache(maxsize=_SPAN_CACHE_TEXTS)
def shouting_spans(text: str) -> tuple[tuple[int, int], ...]:
    """(start, end) of the ALL-CAPS lines of ``text`` (cached: each article asks three times)."""
    return tuple((m.start(), m.end()) for m in _LINE.finditer(text) if _is_shouting(m.group(0)))
