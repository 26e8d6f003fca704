"""Text normalisation shared by every format: line endings, odd spaces, quotes, paragraphs."""

from __future__ import annotations

import re
from typing import Final

from shared.text import ASCII_QUOTES, DROP_INVISIBLE

# Spaces that look like a space but break word matching downstream (NBSP, thin, figure...).
_SPACE_LIKE: Final = dict.fromkeys(map(ord, "\u00a0\u2007\u202f\u2009\u200a\u2002\u2003\u3000"), " ")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")

# A block whose lines are all at most this long (and at least the minimum, but the last)
# was hard-wrapped by its writer: its lines are one paragraph. Longer lines are paragraphs.
WRAPPED_LINE_MAX_CHARS: Final = 100
WRAPPED_LINE_MIN_CHARS: Final = 40


def normalise_text(text: str) -> str:
    """LF line endings, plain spaces, no invisible characters, no trailing blanks on lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = text.translate(_SPACE_LIKE).translate(DROP_INVISIBLE)
    return "\n".join(line.rstrip() for line in text.split("\n"))


def ascii_quotes(text: str) -> str:
    """Typographic quotes and apostrophes as ASCII ' and " (for titles, which people type)."""
    return text.translate(ASCII_QUOTES)


def collapse_spaces(text: str) -> str:
    return " ".join(text.split())


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs of normalised text: blank-line blocks, hard-wrapped lines joined back."""
    paragraphs: list[str] = []
    for block in _BLANK_LINE.split(text):
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        if _is_hard_wrapped(lines):
            paragraphs.append(" ".join(lines))
        else:
            paragraphs.extend(lines)
    return paragraphs


def _is_hard_wrapped(lines: list[str]) -> bool:
    if len(lines) < 2 or max(len(line) for line in lines) > WRAPPED_LINE_MAX_CHARS:
        return False
    return all(len(line) >= WRAPPED_LINE_MIN_CHARS for line in lines[:-1])
