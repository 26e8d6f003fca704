"""A headline for an article whose file has none: its first sentence, trimmed to a headline's length.

Ingest puts it on the event (``RawArticle.derived_title``) next to the file's own ``title``,
which stays None, so nothing that reads headlines as evidence (entity tagging, story vectors,
search weights) mistakes the body's opening for one. The store shows it as the title with
``title_derived: true``; migration 0006 derives it for articles stored before.
"""

from __future__ import annotations

import re
from typing import Final

# News headlines run to ~60-90 characters; a longer opening sentence is cut at a word boundary.
HEADLINE_MAX_CHARS: Final = 110
# Cut at a clause boundary (a comma, a dash) when one falls in the last part of the allowed length.
_CLAUSE_CUT_FROM: Final = 0.55
ELLIPSIS: Final = "…"

# A sentence ends at . ! or ? (and any closing quotes or brackets), before a space and a capital,
# digit or opening quote.
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
# Words whose full stop does not end a sentence: titles, months, and initials such as "U.S.".
# fmt: off
_ABBREVIATIONS: Final = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "gen", "lt", "col", "capt", "sgt", "sen", "rep", "gov", "pres", "st", "mt",
    "jr", "sr", "inc", "ltd", "co", "corp", "no", "vs",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
})
# fmt: on
_CLAUSE_BREAK = re.compile(r"[,;:]\s|\s[–—-]\s")
_TRAILING = re.compile(r"[\s,;:–—\-\"'“‘(\[]+$")
# A cut headline does not end on a word that only leads into the next ("who booked the…").
# fmt: off
_DANGLING: Final = frozenset({
    "a", "an", "the", "of", "to", "in", "on", "at", "by", "for", "from", "with", "and", "or", "but", "as",
    "that", "which", "who", "whose", "its", "his", "her", "their",
})
# fmt: on


def first_sentence(text: str) -> str:
    """The first sentence of ``text``'s first paragraph (the whole paragraph when it has one sentence)."""
    paragraph = text.strip().split("\n\n", 1)[0]
    paragraph = " ".join(paragraph.split())
    for match in _SENTENCE_END.finditer(paragraph):
        before = paragraph[: match.start() + 1]
        word = before.rsplit(" ", 1)[-1].rstrip(".").lstrip("\"'“‘(").lower()
        if word in _ABBREVIATIONS or re.fullmatch(r"(?:[a-z]\.)*[a-z]", word):
            continue  # "Mr. Khan", "U.S. election", "J. Smith"
        return paragraph[: match.end()].strip()
    return paragraph


def derive_title(body: str, max_chars: int = HEADLINE_MAX_CHARS) -> str:
    """A headline from ``body``: its first sentence, without the full stop, cut to ``max_chars``."""
    sentence = first_sentence(body)
    if sentence.endswith(".") and not re.search(r"\b[A-Z]\.$", sentence):
        sentence = sentence[:-1]
    if len(sentence) <= max_chars:
        return sentence
    cut = sentence[: max_chars - len(ELLIPSIS) + 1]
    cut = cut[: cut.rfind(" ")] if " " in cut else cut[: max_chars - len(ELLIPSIS)]
    clause = [m.start() for m in _CLAUSE_BREAK.finditer(cut) if m.start() >= len(cut) * _CLAUSE_CUT_FROM]
    if clause:
        cut = cut[: clause[-1]]
    words = _TRAILING.sub("", cut).split(" ")
    while len(words) > 1 and words[-1].lower().lstrip("\"'“‘([") in _DANGLING:
        words.pop()
    return _TRAILING.sub("", " ".join(words)) + ELLIPSIS
