"""Acronyms defined in the text: "Pakistan Tehreek-e-Insaf (PTI)" names one organisation twice.

The pattern is a reliable signal of a named entity (even where the model misses the long form)
and says the two forms are the same entity. The acronym must match the long form's capitals in
order, so "met the press (AP)" is not a definition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# "Long Form Words (LFW)": a capitalised word, up to 8 more words or connectives, then the acronym.
_DEFINITION = re.compile(
    r"((?:[A-Z][\w'’.&-]*)(?:[ -](?:[A-Z][\w'’.&-]*|of|and|for|the|on|de|du|del|la|e|i|al|-)){0,8})\s*"
    r"\(\s*([A-Z][A-Za-z&.]{1,9})\s*\)"
)


@dataclass(frozen=True)
class AcronymDefinition:
    long_form: str
    long_start: int
    long_end: int
    acronym: str
    acronym_start: int
    acronym_end: int


def _is_subsequence(needle: str, haystack: str) -> bool:
    remaining = iter(haystack)
    return all(c in remaining for c in needle)


def find_definitions(text: str) -> list[AcronymDefinition]:
    found: list[AcronymDefinition] = []
    for match in _DEFINITION.finditer(text):
        long_form, acronym = match.group(1), match.group(2)
        capitals = "".join(c for c in long_form if c.isupper())
        letters = acronym.replace(".", "").replace("&", "").upper()
        # Long forms often start with a word that is not part of the name ("The", "Opposition").
        while capitals and letters and capitals[0] != letters[0] and " " in long_form:
            cut = long_form.index(" ") + 1
            long_form = long_form[cut:]
            capitals = "".join(c for c in long_form if c.isupper())
        if not (letters and capitals and capitals[0] == letters[0] and _is_subsequence(letters, capitals)):
            continue
        if long_form.upper() == long_form:
            continue  # "(AP)" after an ALL-CAPS run is not a definition
        start = match.start(1) + (len(match.group(1)) - len(long_form))
        found.append(AcronymDefinition(long_form, start, match.end(1), acronym, match.start(2), match.end(2)))
    return found
