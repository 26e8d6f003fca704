"""From an article's mentions to its entities: canonical name, one type by vote, mentions kept.

Rules, all applied within one article only (here a surname is never linked across articles:
"Asif" is Khawaja Asif in one story and Farhat Asif in another; the store resolves names across
the archive, from the evidence of all of it, in ``services.store.db.entity_groups``):

- a well-known alias names its entity whatever the article (``aliases``): "US", "U.S." and
  "United States" are one LOCATION "United States", "U.N." is ORG "United Nations";
- an acronym introduced after its long form ("Pakistan Tehreek-e-Insaf (PTI)") links the two:
  both become "PTI", the form people search for, when the acronym is the long form's initials;
  a house abbreviation that is not ("Foreign Ministry (FO)") leaves the long form as the name;
- a single-word mention equal to a word of a person's full name in the article ("Khan", "Trump")
  is that person; the surname wins over other words, then the most mentioned name; when the word
  is the surname of two different people in the article (Imran Khan and Shahid Khan) it is
  neither, and stays an entity of its own (the store may still resolve it across the archive);
- a person's name with a stray plural "s" ("Khawaja Asifs' statement", a typo for "Asif's") is
  that person when the name without the "s" is a full name in the article, or when it stands
  before an apostrophe, its surname is a person's name in the article, and the "s" form is
  written nowhere else (so "Venus Williams'" stays Williams);
- the entity's type is the majority of the model's labels over all its mentions (full names
  weigh double), so "Khan" tagged ORG once still belongs to PERSON Imran Khan; a wire dateline's
  place is a place, and stays an entity of its own when the name is something else in the body
  (the "New York" of baseball scores is a team);
- a country's name is a LOCATION whatever the model said (``gazetteer``; regions' names the
  model mistypes are corrected before, in ``places``);
- the canonical name is the fullest form as written ("U.S.", "PML-N", "NATO", "McDonald's" keep
  their case); a form in capitals only for emphasis (in an ALL-CAPS headline or a dateline, or a
  place or person in capitals, as in "BIRMINGHAM, England" or a "TEXAS 5" score line) gives way
  to the body's "London", and is re-cased ("Birmingham") when it is the only form.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from services.enrich.entities.acronyms import find_definitions
from services.enrich.entities.aliases import KnownEntity, known_entity
from services.enrich.entities.casing import restore_case, shouting_spans
from services.enrich.entities.gazetteer import is_country
from services.enrich.entities.mentions import Mention, dateline_mentions
from shared.events import EntityRef, EntityType
from shared.identity import entity_id

_FULL_NAME_WEIGHT = 2
_APOSTROPHES = ("'", "’")
# Shortest name whose final "s" may be a typo: "Asifs" yes, "Us" or "Js" no.
_PLURAL_S_MIN_CHARS = 4
_NEVER_ACRONYM_TYPES: frozenset[EntityType] = frozenset({"PERSON", "LOCATION"})
# Marks a dateline's mentions while they are grouped (see _merge_datelines).
_DATELINE_KEY = "\x00dateline"


def acronym_definitions(text: str) -> dict[str, str]:
    """casefolded long form and acronym -> the name the pair goes by, for "Long Form (LF)" in ``text``.

    The acronym when it is the long form's initials ("PTI"), else the long form ("Foreign Ministry").
    """
    found: dict[str, str] = {}
    for definition in find_definitions(text):
        name = definition.acronym if definition.initials else definition.long_form
        found[definition.long_form.casefold()] = name
        found[definition.acronym.casefold()] = name
    return found


@dataclass
class _Entity:
    name: str
    mentions: list[Mention] = field(default_factory=list)
    votes: Counter[EntityType] = field(default_factory=Counter)
    known: KnownEntity | None = None


def _inside(mention: Mention, spans: Iterable[tuple[int, int]]) -> bool:
    return any(s <= mention.start and mention.end <= e for s, e in spans)


def _display(mentions: list[Mention], entity_type: EntityType, shouted: list[tuple[int, int]]) -> str:
    """The canonical spelling among an entity's mentions (``shouted``: ALL-CAPS lines, datelines)."""

    def emphasised(mention: Mention) -> bool:
        """In capitals for emphasis only: re-casing would change it, and it is no acronym."""
        if restore_case(mention.text) == mention.text:
            return False  # "U.S.", "PML-N", "McDonald's", "US": nothing a re-casing would repair
        # Places and people are not acronyms: "BIRMINGHAM, England" datelines, "TEXAS 5" scores.
        return _inside(mention, shouted) or entity_type in _NEVER_ACRONYM_TYPES

    written = [m.text for m in mentions if not emphasised(m)]
    if written:
        counts = Counter(written)
        plain = {m.text for m in mentions if not _inside(m, shouted)}
        # Fullest name first, then a form from running text over one from a headline, then the commonest.
        return max(written, key=lambda f: (len(f.split()), f in plain, counts[f]))
    return restore_case(max((m.text for m in mentions), key=len))


def _name_forms(text: str, mentions: list[Mention]) -> list[str]:
    """Each mention's text, or for a person's name with a stray plural "s", the name without it."""
    people = [m.text for m in mentions if m.type == "PERSON"]
    full_names = {p.casefold() for p in people if len(p.split()) > 1}
    known = {p.casefold() for p in people} | {p.split()[-1].casefold() for p in people if len(p.split()) > 1}
    return [_without_plural_s(text, m, full_names, known) for m in mentions]


def _without_plural_s(text: str, mention: Mention, full_names: set[str], known: set[str]) -> str:
    form = mention.text
    if mention.type != "PERSON" or len(form) < _PLURAL_S_MIN_CHARS or not form.endswith("s") or form.endswith("ss"):
        return form
    stem = form[:-1]
    if stem.casefold() in full_names:
        return stem
    if text[mention.end : mention.end + 1] not in _APOSTROPHES or stem.split()[-1].casefold() not in known:
        return form
    # A name that really ends in "s" ("Williams'") is written without the apostrophe somewhere too.
    elsewhere = re.compile(rf"(?<![\w-]){re.escape(form)}(?![\w'’-])")
    return form if elsewhere.search(text) else stem


def _voted_type(entity: _Entity) -> EntityType:
    """The majority of the model's labels; ties go to the type the article introduces it with."""
    votes = entity.votes or Counter(m.type for m in entity.mentions)
    order = {t: i for i, t in reversed(list(enumerate(m.type for m in entity.mentions)))}
    return max(votes, key=lambda t: (votes[t], -order.get(t, len(order))))


def _merge_datelines(entities: dict[str, _Entity]) -> None:
    """A dateline's place joins the entity of the same name, unless that is no place: in
    "NEW YORK 1996-08-30" above baseball scores, "New York" the team is an ORG, the dateline a city."""
    for key in [k for k in entities if k.endswith(_DATELINE_KEY)]:
        name = key.removesuffix(_DATELINE_KEY)
        dateline = entities.pop(key)
        other = entities.get(name)
        if other is not None and _voted_type(other) != "LOCATION":
            entities[key] = dateline
            continue
        merged = entities.setdefault(name, _Entity(name=name))
        merged.mentions = sorted([*merged.mentions, *dateline.mentions], key=lambda m: m.start)
        merged.votes.update(dateline.votes)
        merged.known = merged.known or dateline.known


def _people(names: Iterable[str]) -> list[set[str]]:
    """``names`` grouped into people: a name whose words are all in another's is the same person
    ("Donald Trump" and "Donald J. Trump")."""
    people: list[set[str]] = []
    for words in sorted(({w.casefold() for w in n.split()} for n in names), key=len, reverse=True):
        if not any(words <= person for person in people):
            people.append(words)
    return people


def canonical_entities(text: str, mentions: list[Mention]) -> list[EntityRef]:
    """Group ``mentions`` of one article into entities with canonical names and ids."""
    acronyms = acronym_definitions(text)
    forms = _name_forms(text, mentions)

    # Person full names: multi-word names the model tagged PERSON at least once.
    full_names: Counter[str] = Counter(
        f for m, f in zip(mentions, forms, strict=True) if m.type == "PERSON" and len(f.split()) > 1 and not f.isupper()
    )
    by_word: dict[str, list[str]] = defaultdict(list)
    for name in full_names:
        for word in name.split():
            by_word[word.casefold()].append(name)

    def key_of(form: str) -> tuple[str, KnownEntity | None]:
        folded = form.casefold()
        # A person's name first: "Jordan" after "Michael Jordan" is not the country.
        if " " not in form and folded in by_word:
            owners = by_word[folded]
            surname_owners = [n for n in owners if n.split()[-1].casefold() == folded]
            candidates = surname_owners or owners
            # Two people it could be ("Khan" beside Imran Khan and Shahid Khan): it stays apart.
            if len(_people(candidates)) == 1:
                return max(candidates, key=lambda n: (full_names[n], -text.find(n))).casefold(), None
        known = known_entity(form)
        if known is not None:
            return known.name.casefold(), known
        if folded in acronyms:
            return acronyms[folded].casefold(), None
        return folded, None

    datelines = [(m.start, m.end) for m in dateline_mentions(text)]
    entities: dict[str, _Entity] = {}
    for mention, form in zip(mentions, forms, strict=True):
        key, known = key_of(form)
        if (mention.start, mention.end) in datelines:
            key += _DATELINE_KEY
        entity = entities.setdefault(key, _Entity(name=key))
        entity.known = entity.known or known
        entity.mentions.append(mention)
        if mention.from_model:
            entity.votes[mention.type] += _FULL_NAME_WEIGHT if " " in mention.text else 1
    _merge_datelines(entities)

    shouted = [*shouting_spans(text), *datelines]
    acronym_names = {a.casefold(): a for a in acronyms.values()}
    refs: list[EntityRef] = []
    for key, entity in entities.items():
        entity_type = _voted_type(entity)
        if entity.known is not None:
            name, entity_type = entity.known.name, entity.known.type
        elif key in acronym_names:
            name = acronym_names[key]
        elif any(f.casefold() == key for f in full_names):
            name = next(f for f in full_names if f.casefold() == key)
        else:
            name = _display(entity.mentions, entity_type, shouted)
        if is_country(name):
            entity_type = "LOCATION"
        surfaces = list(dict.fromkeys(m.text for m in entity.mentions))
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
