"""Acronyms defined in the text: "Pakistan Tehreek-e-Insaf (PTI)" names one organisation twice.

The pattern is a reliable signal of a named entity (even where the model misses the long form)
and says the two forms are the same entity. The acronym's first letter must start the long form,
so "met the press (AP)" is not a definition. Two strengths of match:

- *initials*: the acronym is the long form's capitals in order ("PTI", "BLA"); the acronym is
  the form people search for, and names the entity;
- *letters* (Schwartz & Hearst 2003, the usual rule for abbreviation definitions): each letter
  of the acronym appears in the long form, in order, the first one starting a word
  ("Foreign Ministry (FO)", "Reuters (RTRS)"); the acronym is a house abbreviation, so the long
  form names the entity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.enrich.entities.aliases import known_entity

# "Long Form Words (LFW)": a capitalised word, up to 8 more words or connectives, then the acronym.
# Words are bounded (no name has a 40-letter word): unbounded, a run of capitals with no "(" after
# it made the search backtrack over the whole run from every position, quadratic in its length.
_DEFINITION = re.compile(
    r"((?:[A-Z][\w'’.&-]{0,40})(?:[ -](?:[A-Z][\w'’.&-]{0,40}|of|and|for|the|on|de|du|del|la|e|i|al|-)){0,8})\s*"
    r"\(\s*([A-Z][A-Za-z&.]{1,9})\s*\)"
)
# A definition ends in "(ACRONYM)": the search only looks at the text before each such parenthesis.
_ACRONYM_IN_PARENTHESES = re.compile(r"\(\s*[A-Z][A-Za-z&.]{1,9}\s*\)")
# Far more than the longest long form (9 words of 41 characters and the spaces between).
_LOOK_BEHIND_CHARS = 1000


@dataclass(frozen=True)
class AcronymDefinition:
    long_form: str
    long_start: int
    long_end: int
    acronym: str
    acronym_start: int
    acronym_end: int
    # True when the acronym is the long form's initials (see the module docstring).
    initials: bool = True


# Words a long form may lose before a letters-only match: determiners, and possessives ("Pakistan's").
_NOT_NAME_WORDS = frozenset({"the", "a", "an"})
_POSSESSIVE = re.compile(r"['’]s?$")
# Schwartz & Hearst's bound on a long form's length: at most min(letters + 5, 2 * letters) words.
_EXTRA_WORDS_MAX = 5
_WORDS_PER_LETTER_MAX = 2


def _is_subsequence(needle: str, haystack: str) -> bool:
    remaining = iter(haystack)
    return all(c in remaining for c in needle)


def _letters_match(letters: str, long_form: str) -> bool:
    """Schwartz & Hearst: right to left, each letter found in the long form; the first starts a word."""
    words = long_form.replace("-", " ").split()
    if len(words) > min(len(letters) + _EXTRA_WORDS_MAX, _WORDS_PER_LETTER_MAX * len(letters)):
        return False
    short, long = letters.casefold(), long_form.casefold()
    at = len(long) - 1
    for i in range(len(short) - 1, -1, -1):
        while at >= 0 and (long[at] != short[i] or (i == 0 and at > 0 and long[at - 1].isalnum())):
            at -= 1
        if at < 0:
            return False
        at -= 1
    return True


def _loose_definition(acronym: str, letters: str, long_form: str, dropped: list[str]) -> bool:
    """A letters-only match, kept to where it is safe.

    The acronym is in capitals ("Riyadh (Reuters)" is a credit line), is not a well-known name of
    its own ("Al Unser Jr (U.S.)" is a driver and his country), and the long form lost no name word
    to reach its first letter: "Pakistan's Foreign Ministry (FO)" may drop "Pakistan's", but
    "National Bank of Romania (BNR)" is not "Bank of Romania".
    """
    if acronym.upper() != acronym or known_entity(acronym) is not None:
        return False
    if not all(w.casefold() in _NOT_NAME_WORDS or _POSSESSIVE.search(w) for w in dropped):
        return False
    return _letters_match(letters, long_form)


def _windows(text: str) -> list[tuple[int, int]]:
    """Stretches of ``text`` that end in a parenthesised acronym (merged where they overlap)."""
    windows: list[tuple[int, int]] = []
    for found in _ACRONYM_IN_PARENTHESES.finditer(text):
        start, end = max(0, found.start() - _LOOK_BEHIND_CHARS), found.end()
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
    return windows


def find_definitions(text: str) -> list[AcronymDefinition]:
    found: list[AcronymDefinition] = []
    matches = (match for start, end in _windows(text) for match in _DEFINITION.finditer(text, start, end))
    for match in matches:
        long_form, acronym = match.group(1), match.group(2)
        capitals = "".join(c for c in long_form if c.isupper())
        letters = acronym.replace(".", "").replace("&", "").upper()
        # Long forms often start with a word that is not part of the name ("The", "Opposition").
        dropped: list[str] = []
        while capitals and letters and capitals[0] != letters[0] and " " in long_form:
            cut = long_form.index(" ") + 1
            dropped.append(long_form[:cut].strip())
            long_form = long_form[cut:]
            capitals = "".join(c for c in long_form if c.isupper())
        if not (letters and capitals and capitals[0] == letters[0]):
            continue
        initials = _is_subsequence(letters, capitals)
        if not (initials or _loose_definition(acronym, letters, long_form, dropped)):
            continue
        if long_form.upper() == long_form:
            continue  # "(AP)" after an ALL-CAPS run is not a definition
        start = match.start(1) + (len(match.group(1)) - len(long_form))
        found.append(AcronymDefinition(long_form, start, match.end(1), acronym, match.start(2), match.end(2), initials))
    return found
