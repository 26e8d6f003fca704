"""Country names from ``pycountry`` (ISO 3166), to fix the type of a country the model mislabels.

spaCy's small model calls "Sri Lanka" or "Liechtenstein" a PERSON now and then; a country's
name is a LOCATION whatever the sentence. Only whole names are used (no cities: "Kent" or
"Paris" are too often something else), so the list cannot add false entities. A country's name
with a plural people's ending ("Pakistanis", "Iraqis", "Kenyans") names its people, not an entity
(what CoNLL calls MISC and OntoNotes NORP), so such a mention is dropped (``is_demonym``).

A country's first-level regions (ISO 3166-2 provinces, states, regions, territories:
"Khyber Pakhtunkhwa", "Balochistan", "Bavaria") are places too, but their names also name
sports teams ("Western Province", US states in baseball tables), so they only overrule the model
where it calls one a person (``is_region``), which a region's name never is.
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


# ISO 3166-2 subdivision types of a country's first level (not counties, districts or cities).
_REGION_TYPES = frozenset(
    {
        "province",
        "state",
        "region",
        "autonomous region",
        "administrative region",
        "territory",
        "federal territory",
        "federal capital territory",
        "union territory",
        "capital territory",
        "autonomous community",
        "autonomous province",
        "special administrative region",
        "land",
        "governorate",
        "prefecture",
        "pakistan administered area",
    }
)


@lru_cache(maxsize=1)
def region_names() -> frozenset[str]:
    """Casefolded names of first-level regions (ISO 3166-2), in every language ISO writes them."""
    names: set[str] = set()
    for subdivision in pycountry.subdivisions:
        if subdivision.type.casefold() in _REGION_TYPES:
            names.update(part.strip() for part in subdivision.name.split("/") if "," not in part)
    return frozenset(n.casefold() for n in names if n)


def is_region(name: str) -> bool:
    return name.casefold() in region_names()


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


# Plural endings that make a country's name its people: Pakistan-is, Kenya-ns, Brazil-ians.
# (Singular ones are surnames too often: Smriti Irani is no Iranian.)
_DEMONYM_ENDINGS = ("is", "ns", "ians")


def is_demonym(word: str) -> bool:
    """A country's name with a people's ending ("Pakistanis", "Iraqis", "Kenyans")."""
    folded = word.casefold()
    names = country_names()
    return " " not in folded and any(
        folded.endswith(ending) and folded.removesuffix(ending) in names for ending in _DEMONYM_ENDINGS
    )
