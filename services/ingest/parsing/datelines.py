"""Wire-story datelines at the start of the first paragraph: where (and who) a story comes from.

Recognised forms: ``ISLAMABAD:`` / ``NEW DELHI -`` (capitals), ``LONDON (Reuters) -``,
``Islamabad, November 7 (SocialNews.XYZ)``, ``Islamabad, Nov 7:`` and ``[Islamabad]``.
A mixed-case word followed by a colon ("However:") is never taken for a place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.ingest.parsing.dates import MONTH

_DASH = r"[-–—]"
_CAPS_PLACE = r"[A-Z][A-Z.'\-]+(?:[ /][A-Z][A-Z.'\-]+){0,3}"
_MIXED_PLACE = r"[A-Z][A-Za-z.'\-]+(?: [A-Z][A-Za-z.'\-]+){0,3}"
_DAY = rf"{MONTH}\s+\d{{1,2}}(?:,?\s+\d{{4}})?"
_AGENCY = r"\((?P<agency>[^()\n]{2,40})\)"
# Longer than any dateline form can match (place, day, agency, the separators around them).
_DATELINE_SCAN_CHARS = 400

_FORMS = (
    re.compile(r"\[(?P<place>[^\[\]\n]{2,40})\]\s*(?:[:\-–—]\s*)?"),
    re.compile(rf"(?P<place>{_MIXED_PLACE}),\s+(?P<day>{_DAY})\s*(?:{_AGENCY}\s*(?:[:\-–—]\s*)?|[:\-–—]\s+)", re.I),
    re.compile(rf"(?P<place>{_CAPS_PLACE})(?:,\s+(?P<day>{_DAY}))?\s*{_AGENCY}\s*(?:{_DASH}|:)?\s*"),
    re.compile(rf"(?P<place>{_CAPS_PLACE})(?:,\s+(?P<day>{_DAY}))?\s*(?::|\s{_DASH})\s+"),
)


@dataclass(frozen=True)
class Dateline:
    """A dateline found at the start of a paragraph, and the paragraph without it."""

    place: str
    agency: str | None
    raw: str
    rest: str


def find_dateline(paragraph: str) -> Dateline | None:
    """The dateline opening ``paragraph``, if it has one followed by actual text."""
    for form in _FORMS:
        # A dateline is a few words long: the forms never need to look far into a long paragraph.
        match = form.match(paragraph, 0, _DATELINE_SCAN_CHARS)
        if not match:
            continue
        rest = paragraph[match.end() :].strip()
        place = match.group("place").strip()
        if not rest or not any(ch.isalpha() for ch in place):
            continue
        agency = match.groupdict().get("agency")
        return Dateline(
            place=_place_case(place),
            agency=agency.strip() if agency else None,
            raw=paragraph[: match.end()].strip(),
            rest=rest,
        )
    return None


def _place_case(place: str) -> str:
    # Datelines shout (ISLAMABAD); the place is stored as people write it (Islamabad).
    if place.isupper():
        return " ".join(word.capitalize() if len(word) > 2 else word for word in place.split())
    return place
