"""Well-known aliases: "US", "U.S." and "United States" are one entity, named "United States".

A fixed table, the same for every article, so it cannot link two different things the way
cross-article surname matching would. Two sources:

- ``pycountry`` (ISO 3166): a country's official and everyday names ("United States of America",
  "Islamic Republic of Iran", "Viet Nam") map to one name ("United States", "Iran", "Vietnam");
- a short curated list of the abbreviations news writes ("U.K.", "UN", "EU", "UAE"), which ISO
  does not have. ISO's two- and three-letter codes are left out on purpose: "IN", "IT", "CAN"
  and "ARE" are words far more often than countries.

The table only renames and merges mentions the tagger already found; it never adds a mention.
Abbreviations match exactly as written (so "Us" or "us" never become the United States);
names match case-insensitively (so a headline's "UNITED STATES" or "FRANCE" does).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pycountry

from shared.events import EntityType


@dataclass(frozen=True)
class KnownEntity:
    name: str
    type: EntityType


# Canonical name, its type, and the aliases news writes for it (the name itself is implied).
_NEWS_ALIASES: tuple[tuple[str, EntityType, tuple[str, ...]], ...] = (
    ("United States", "LOCATION", ("US", "U.S.", "USA", "U.S.A.", "United States of America")),
    ("United Kingdom", "LOCATION", ("UK", "U.K.", "Britain")),
    ("United Nations", "ORG", ("UN", "U.N.")),
    ("European Union", "ORG", ("EU", "E.U.")),
    ("United Arab Emirates", "LOCATION", ("UAE", "U.A.E.")),
    ("Soviet Union", "LOCATION", ("USSR", "U.S.S.R.")),
    ("NATO", "ORG", ("Nato", "North Atlantic Treaty Organization", "North Atlantic Treaty Organisation")),
    ("Russia", "LOCATION", ("Russian Federation",)),
    ("Czech Republic", "LOCATION", ("Czechia",)),
)


def _is_abbreviation(alias: str) -> bool:
    """No lower-case letter: "US", "U.S.", "NATO" (matched exactly as written)."""
    return not any(c.islower() for c in alias)


def _country_names() -> dict[str, KnownEntity]:
    """Casefolded ISO official and everyday names -> the everyday name (ISO's comma forms are skipped)."""
    table: dict[str, KnownEntity] = {}
    ambiguous: set[str] = set()
    for country in pycountry.countries:
        names = [getattr(country, a, None) for a in ("common_name", "name", "official_name")]
        usable = [n.removeprefix("the ") for n in names if n and "," not in n]
        if not usable:
            continue
        entity = KnownEntity(usable[0], "LOCATION")
        for alias in usable:
            key = alias.casefold()
            if table.get(key, entity) != entity:
                ambiguous.add(key)
            table[key] = entity
    for key in ambiguous:
        del table[key]
    return table


@lru_cache(maxsize=1)
def alias_tables() -> tuple[dict[str, KnownEntity], dict[str, KnownEntity]]:
    """(abbreviation as written -> entity, casefolded name -> entity)."""
    abbreviations: dict[str, KnownEntity] = {}
    names = _country_names()
    # The curated list wins over ISO: it says "Russia" where ISO says "Russian Federation".
    for name, entity_type, aliases in _NEWS_ALIASES:
        entity = KnownEntity(name, entity_type)
        for alias in (name, *aliases):
            if _is_abbreviation(alias):
                abbreviations[alias] = entity
            else:
                names[alias.casefold()] = entity
    return abbreviations, names


def known_entity(form: str) -> KnownEntity | None:
    """The entity a mention's surface form is a well-known alias of, if any."""
    abbreviations, names = alias_tables()
    return abbreviations.get(form) or names.get(form.casefold())
