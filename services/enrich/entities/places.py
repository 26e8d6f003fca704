"""Place names the model mistypes, corrected from the gazetteer and from the lists they stand in.

The model types a name from a few words around it, and knows few of the world's regions: in
"regions like Khyber Pakhtunkhwa and Balochistan" it called the first a PERSON and the second an
ORG. A region's name (``gazetteer``: ISO 3166-2 first-level regions) is never a person, so a
PERSON there is a LOCATION. Region names alone cannot overrule an ORG (they name sports teams:
"Texas", "Western Province"), but a region's or country's name coordinated with a mention typed
LOCATION ("A and B", "A, B or C") is a LOCATION too: a list that mixes a team with a place is
rare, a list of places common.
"""

from __future__ import annotations

import re
from dataclasses import replace

from services.enrich.entities.gazetteer import is_country, is_region
from services.enrich.entities.mentions import Mention

# What stands between two items of a list: a comma, "and", "or", or a comma and either.
_COORDINATOR = re.compile(r"\s*,\s*|\s+(?:and|or)\s+|\s*,\s+(?:and|or)\s+")


def _is_place_name(mention: Mention) -> bool:
    return is_region(mention.text) or is_country(mention.text)


def retype_places(text: str, mentions: list[Mention]) -> list[Mention]:
    """``mentions`` (in text order) with regions typed PERSON, and region and country names listed
    beside a LOCATION, typed LOCATION."""
    found = [replace(m, type="LOCATION") if m.type == "PERSON" and is_region(m.text) else m for m in mentions]
    changed = True
    while changed:
        changed = False
        for i in range(len(found) - 1):
            left, right = found[i], found[i + 1]
            if not _COORDINATOR.fullmatch(text, left.end, right.start) or left.type == right.type:
                continue
            for index, item, other in ((i, left, right), (i + 1, right, left)):
                if other.type == "LOCATION" and item.type != "LOCATION" and _is_place_name(item):
                    found[index] = replace(item, type="LOCATION")
                    changed = True
    return found
