"""Character tables for news text that more than one service needs (one definition each).

Ingest uses them to clean what people see (titles); enrich uses them to compare texts, where a
curly quote or an invisible character must never make two copies of one article differ.
"""

from __future__ import annotations

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
