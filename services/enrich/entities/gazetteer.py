"""Country names from ``pycountry`` (ISO 3166), to fix the type of a country the model mislabels.

spaCy's small model calls "Sri Lanka" or "Liechtenstein" a PERSON now and then; a country's
name is a LOCATION whatever the sentence. Only whole names are used (no demonyms, no cities:
"Kent" or "Paris" are too often something else), so the list cannot add false entities.
"""

from __future__ import annotations

from functools import lru_cache

import pycountry

# Everyday names ISO writes differently (its names are "Russian Federation", "Korea, Republic of").
_EVERYDAY_NAMES = (
    "Russia",
    "South Korea",
    "North Korea",
    "Iran",
    "Syria",
    "Vietnam",
    "Laos",
    "Bolivia",
    "Venezuela",
    "Tanzania",
    "Moldova",
    "Macedonia",
    "Britain",
    "Great Britain",
    "England",
    "Scotland",
    "Wales",
    "Northern Ireland",
    "Czech Republic",
    "Ivory Coast",
    "Taiwan",
    "Palestine",
    "Congo",
    "Burma",
    "Holland",
    "Yugoslavia",
    "Soviet Union",
    "United States",
    "U.S.",
    "USA",
    "UK",
    "U.K.",
)


@lru_cache(maxsize=1)
def country_names() -> frozenset[str]:
    """Casefolded country names: ISO short, official and common names, plus everyday ones."""
    names: set[str] = set(_EVERYDAY_NAMES)
    for country in pycountry.countries:
        for attribute in ("name", "common_name", "official_name"):
            value = getattr(country, attribute, None)
            if value and "," not in value:
                names.add(value)
    return frozenset(n.casefold() for n in names)


def is_country(name: str) -> bool:
    return name.casefold() in country_names()
