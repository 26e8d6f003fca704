"""Dates as news files write them: ISO, "February 04, 2025", "4 Nov 2024", with weekdays and labels."""

from __future__ import annotations

import re
from datetime import date
from typing import Final

_MONTHS: Final = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
MONTH = r"(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = r"(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|rsday|urday)?\.?"
_ORDINAL = r"(?:st|nd|rd|th)?"

_ISO = re.compile(
    r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?",
    re.I,
)
_YMD_SLASH = re.compile(r"(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})")
_MDY = re.compile(rf"(?P<mon>{MONTH})\s+(?P<d>\d{{1,2}}){_ORDINAL},?\s+(?P<y>\d{{4}})", re.I)
_DMY = re.compile(rf"(?P<d>\d{{1,2}}){_ORDINAL}\s+(?:of\s+)?(?P<mon>{MONTH}),?\s+(?P<y>\d{{4}})", re.I)
_DATE_FORMS: Final = (_ISO, _YMD_SLASH, _MDY, _DMY)

_LABEL = r"(?:(?P<label>date|dated|published|posted|updated|last updated|first published)(?:\s+on)?\s*[:\-]?\s*)?"
_TIME = r"(?:\s*(?:,|at|-|\|)?\s*\d{1,2}[:.]\d{2}(?:[:.]\d{2})?\s*(?:[ap]\.?m\.?)?(?:\s*\(?[A-Z]{2,5}\)?)?)?"
# The line pattern reuses the forms above without their group names (re forbids duplicates).
_DATE_ALTERNATIVES = "|".join(re.sub(r"\(\?P<\w+>", "(?:", form.pattern) for form in _DATE_FORMS)
_DATE_LINE = re.compile(
    rf"\s*{_LABEL}(?:{_WEEKDAY}\s*[|,\-–—]?\s*)?(?P<date>{_DATE_ALTERNATIVES}){_TIME}\s*\|?\s*",
    re.I,
)


def parse_date(text: str) -> date | None:
    """The first calendar date written in ``text`` (ISO, Y/M/D, "Month D, YYYY", "D Month YYYY")."""
    best: tuple[int, date] | None = None
    for form in _DATE_FORMS:
        for match in form.finditer(text):
            found = _to_date(match)
            if found is not None:
                if best is None or match.start() < best[0]:
                    best = (match.start(), found)
                break
    return best[1] if best else None


def date_line(line: str) -> tuple[date, bool] | None:
    """If ``line`` is only a date (with optional label, weekday and time): (date, is_update)."""
    if len(line) > 80:
        return None
    match = _DATE_LINE.fullmatch(line)
    if not match:
        return None
    found = parse_date(match.group("date"))
    if found is None:
        return None
    label = (match.group("label") or "").lower()
    return found, "updated" in label


def _to_date(match: re.Match[str]) -> date | None:
    groups = match.groupdict()
    month = _MONTHS[groups["mon"].rstrip(".").lower()] if groups.get("mon") else int(groups["m"])
    try:
        return date(int(groups["y"]), month, int(groups["d"]))
    except ValueError:
        return None
