"""From an article's mentions to its entities: canonical name, one type by vote, mentions kept.

Rules, all applied within one article only (a surname is never linked across articles: "Asif"
is Khawaja Asif in one story and Farhat Asif in another):

- an acronym introduced after its long form ("Pakistan Tehreek-e-Insaf (PTI)") names the
  entity: both forms become "PTI", the form people search for and the one used when the long
  form is absent;
- a single-word mention equal to a word of a person's full name in the article ("Khan", "Trump")
  is that person; the surname wins over other words, then the most mentioned name;
- the entity's type is the majority of the model's labels over all its mentions (full names
  weigh double), so "Khan" tagged ORG once still belongs to PERSON Imran Khan;
- a country's name is a LOCATION whatever the model said (``gazetteer``);
- the canonical name is the fullest form written in normal case: an ALL-CAPS headline form
  ("LONDON") gives way to "London" when the body has it, and is title-cased when it does not.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from services.enrich.entities.acronyms import find_definitions
from services.enrich.entities.gazetteer import is_country
from services.enrich.entities.mentions import Mention
from shared.events import EntityRef, EntityType
from shared.identity import entity_id

_FULL_NAME_WEIGHT = 2
_ACRONYM_MAX_LETTERS = 3


def acronym_definitions(text: str) -> dict[str, str]:
    """casefolded long form and acronym -> the acronym, for "Long Form (LF)" in ``text``."""
    found: dict[str, str] = {}
    for definition in find_definitions(text):
        found[definition.long_form.casefold()] = definition.acronym
        found[definition.acronym.casefold()] = definition.acronym
    return found


@dataclass
class _Entity:
    name: str
    mentions: list[Mention] = field(default_factory=list)
    votes: Counter[EntityType] = field(default_factory=Counter)


def _display(forms: list[str]) -> str:
    """The canonical spelling among an entity's forms."""
    normal = [f for f in forms if not (f.isupper() and len(f) > _ACRONYM_MAX_LETTERS)]
    if normal:
        counts = Counter(normal)
        return max(normal, key=lambda f: (len(f.split()), counts[f]))
    form = max(forms, key=len)
    return " ".join(w if len(w) <= _ACRONYM_MAX_LETTERS else w[0] + w[1:].lower() for w in form.split(" "))


def canonical_entities(text: str, mentions: list[Mention]) -> list[EntityRef]:
    """Group ``mentions`` of one article into entities with canonical names and ids."""
    acronyms = acronym_definitions(text)

    # Person full names: multi-word names the model tagged PERSON at least once.
    full_names: Counter[str] = Counter(
        m.text for m in mentions if m.type == "PERSON" and len(m.text.split()) > 1 and not m.text.isupper()
    )
    by_word: dict[str, list[str]] = defaultdict(list)
    for name in full_names:
        for word in name.split():
            by_word[word.casefold()].append(name)

    def key_of(mention: Mention) -> str:
        folded = mention.text.casefold()
        if folded in acronyms:
            return acronyms[folded].casefold()
        if " " not in mention.text and folded in by_word:
            owners = by_word[folded]
            surname_owners = [n for n in owners if n.split()[-1].casefold() == folded]
            return max(surname_owners or owners, key=lambda n: (full_names[n], -text.find(n))).casefold()
        return folded

    entities: dict[str, _Entity] = {}
    for mention in mentions:
        key = key_of(mention)
        entity = entities.setdefault(key, _Entity(name=key))
        entity.mentions.append(mention)
        if mention.from_model:
            entity.votes[mention.type] += _FULL_NAME_WEIGHT if " " in mention.text else 1

    refs: list[EntityRef] = []
    for key, entity in entities.items():
        votes = entity.votes or Counter(m.type for m in entity.mentions)
        # Ties go to the type of the first mention, the one the article introduces it with.
        order = {t: i for i, t in reversed(list(enumerate(m.type for m in entity.mentions)))}
        entity_type = max(votes, key=lambda t: (votes[t], -order.get(t, len(order))))
        forms = [m.text for m in entity.mentions]
        if key in (a.casefold() for a in acronyms.values()):
            name = acronyms[key]
        elif any(f.casefold() == key for f in full_names):
            name = next(f for f in full_names if f.casefold() == key)
        else:
            name = _display(forms)
        if is_country(name):
            entity_type = "LOCATION"
        surfaces = list(dict.fromkeys(forms))
        refs.append(
            EntityRef(
                id=entity_id(entity_type, name),
                name=name,
                type=entity_type,
                mentions=surfaces,
                count=len(entity.mentions),
            )
        )
    return refs
