"""Character tables for news text that more than one service needs (one definition each).

Ingest uses them to clean what people see (titles); enrich uses them to compare texts, where a
curly quote or an invisible character must never make two copies of one article differ. Ingest
and the read API also find lone UTF-16 surrogates here: text that is not valid Unicode.
"""

from __future__ import annotations

import re
from typing import Final

QUOTE_CHARS: Final = {
    "\u2018": "'",  # left single quotation mark
    "\u2019": "'",  # right single quotation mark / apostrophe
    "\u201a": "'",  # single low-9 quotation mark
    "\u201b": "'",  # single high-reversed-9 quotation mark
    "\u2032": "'",  # prime
    "\u201c": '"',  # left double quotation mark
    "\u201d": '"',  # right double quotation mark
    "\u201e": '"',  # double low-9 quotation mark
    "\u201f": '"',  # double high-reversed-9 quotation mark
    "\u2033": '"',  # double prime
}
# Invisible characters with no meaning in news text. ZWJ/ZWNJ are not here: Arabic and Indic
# scripts need them.
INVISIBLE_CHARS: Final = "\ufeff\u200b\u2060\u00ad"

ASCII_QUOTES: Final = str.maketrans(QUOTE_CHARS)
DROP_INVISIBLE: Final = dict.fromkeys(map(ord, INVISIBLE_CHARS), None)

# UTF-16 surrogates: in a Python string they only ever stand alone (a pair is one code point), and
# a lone one is not a character: it cannot be encoded as UTF-8, stored in Postgres or sent in JSON.
_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate_at(text: str) -> int | None:
    """The index of the first lone UTF-16 surrogate in ``text`` (None when it is valid Unicode)."""
    found = _SURROGATE.search(text)
    return found.start() if found else None


def escape_surrogates(text: str) -> str:
    """``text`` with each lone surrogate written as its escape (``\\udc00``): to show it, never to store it."""
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
