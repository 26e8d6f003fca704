"""Making snippets safe to show: HTML-escaped text, with search matches wrapped in ``<mark>``.

The database marks matches with private-use characters (see ``db.queries.articles``); the text is
escaped first and the markers become tags afterwards, so markup inside an article never renders.
"""

from __future__ import annotations

import html
import re

from services.store.db.queries.articles import MATCH_START, MATCH_STOP, PLAIN_SNIPPET_MAX_CHARS

_WHITESPACE = re.compile(r"\s+")
_ELLIPSIS = "…"


def highlighted(raw: str) -> str:
    """A ts_headline excerpt as HTML-safe text with <mark> around the matches."""
    text = html.escape(_WHITESPACE.sub(" ", raw).strip(), quote=False)
    return text.replace(MATCH_START, "<mark>").replace(MATCH_STOP, "</mark>")


def opening(raw: str) -> str:
    """The start of a body as HTML-safe text, cut at a word boundary when it was truncated."""
    text = _WHITESPACE.sub(" ", raw.replace(MATCH_START, "").replace(MATCH_STOP, "")).strip()
    if len(raw) >= PLAIN_SNIPPET_MAX_CHARS and " " in text:
        text = text.rsplit(" ", 1)[0].rstrip(",;:") + _ELLIPSIS
    return html.escape(text, quote=False)
