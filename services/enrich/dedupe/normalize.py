"""Text normalisation for comparing articles: typography, case, whitespace and paragraphs.

Reprints differ from their original in ways a reader does not notice: curly vs straight quotes,
dashes, non-breaking spaces, CRLF line ends, lines hard-wrapped at 72 columns. Everything here
maps those variants to one form, so only real textual differences are left to measure.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from shared.text import INVISIBLE_CHARS, QUOTE_CHARS

# Characters mapped away before tokenising; NFKC already folds NBSP and most compatibility forms.
_TYPOGRAPHY = str.maketrans(
    {
        **QUOTE_CHARS,
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        **dict.fromkeys(INVISIBLE_CHARS),  # a soft hyphen or zero-width space must not split a word
    }
)
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\u00a0]*\n\s*")
_WHITESPACE = re.compile(r"\s+")
# Words are runs of letters/digits; punctuation and typography never make two texts differ.
_WORD = re.compile(r"\w+")


def normalize_typography(text: str) -> str:
    """NFKC, straight quotes and hyphens, LF line ends."""
    text = unicodedata.normalize("NFKC", text).translate(_TYPOGRAPHY)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs separated by blank lines; hard-wrapped lines inside a paragraph are joined."""
    text = normalize_typography(text)
    paragraphs = (_WHITESPACE.sub(" ", part).strip() for part in _PARAGRAPH_BREAK.split(text))
    return [p for p in paragraphs if p]


def words(text: str) -> list[str]:
    """Case-folded words of ``text`` (already typography-normalised or not)."""
    return _WORD.findall(normalize_typography(text).casefold())


def content_hash(body: str) -> str:
    """sha256 of the body's words: equal for texts that differ only in typography, case or layout."""
    return hashlib.sha256(" ".join(words(body)).encode("utf-8")).hexdigest()
