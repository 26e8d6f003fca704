"""Entities of a copy (exact duplicate, reprint, redelivery) taken from the article it copies.

Wire stories arrive in many copies. A copy's text is verified near-identical to an article that
was already tagged (``dedupe.detector.ReprintDetector.preview``), so running spaCy over it again
(tens of milliseconds an article, most of enrich's time) would find the same names. Instead, each of the
source's entities is kept with the surface forms that occur in the copy's own title and body,
counted there (whole words, exact case, longest form first, no overlapping matches): a truncated
reprint loses the names of the paragraphs it dropped, and a copy never gains a name its text does
not contain. Canonical names, ids and types are the source's, so a name is the same entity in
every copy of a story. A name only the copy writes (in a changed headline) is not tagged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from shared.events import EntityRef

# Whole words only ("Khan" is not in "Khanate"), but next to a hyphen too: the model tags
# "PML" in "PML-N" and "Karachi" in "Karachi-based", so the source's mentions include such forms.
_BEFORE = r"(?<!\w)"
_AFTER = r"(?!\w)"


def copied_entities(text: str, source: Sequence[EntityRef]) -> list[EntityRef]:
    """The entities of ``source`` that ``text`` mentions, with their mentions counted in ``text``."""
    owner: dict[str, int] = {}  # surface form -> index of its entity in ``source``
    for index, entity in enumerate(source):
        for surface in entity.mentions:
            owner.setdefault(surface, index)
    if not owner:
        return []
    longest_first = sorted(owner, key=len, reverse=True)
    pattern = re.compile(_BEFORE + "(?:" + "|".join(re.escape(s) for s in longest_first) + ")" + _AFTER)
    found: dict[int, list[str]] = {}  # in order of first appearance in ``text``
    counts: dict[int, int] = {}
    for match in pattern.finditer(text):
        index = owner[match.group(0)]
        surfaces = found.setdefault(index, [])
        if match.group(0) not in surfaces:
            surfaces.append(match.group(0))
        counts[index] = counts.get(index, 0) + 1
    return [
        source[index].model_copy(update={"mentions": surfaces, "count": counts[index]})
        for index, surfaces in found.items()
    ]
