"""Entity canonicalisation on the seeds and on the cases issue 4 names."""

from __future__ import annotations

import pytest

from services.enrich.entities.canonical import acronym_definitions
from services.enrich.entities.casing import restore_case
from services.enrich.entities.tagger import EntityTagger
from shared.events import EntityRef
from shared.identity import entity_id
from tests.enrich.conftest import make_article, read_seed, seed_article


def _entities(tagger: EntityTagger, prefix: str) -> list[EntityRef]:
    name, text = read_seed(prefix)
    return tagger.tag([seed_article(name, text)])[0]


def _find(entities: list[EntityRef], name: str, entity_type: str = "PERSON") -> EntityRef:
    matches = [e for e in entities if e.name == name and e.type == entity_type]
    assert matches, f"{entity_type} {name!r} not among {[(e.type, e.name) for e in entities]}"
    return matches[0]


def test_seed_000_links_surnames_and_possessives_to_full_names(tagger: EntityTagger) -> None:
    entities = _entities(tagger, "000")
    khan = _find(entities, "Imran Khan")
    assert "Khan" in khan.mentions and "Imran Khan" in khan.mentions
    assert khan.count >= 6
    assert khan.id == entity_id("PERSON", "Imran Khan")
    trump = _find(entities, "Donald Trump")
    assert "Trump" in trump.mentions
    asif = _find(entities, "Khawaja Asif")
    assert "Asif" in asif.mentions
    # No separate entity for a bare surname or a possessive form.
    names = {e.name for e in entities}
    assert not names & {"Khan", "Trump", "Asif", "Imran Khan's", "Khan's"}


def test_seed_001_headline_surname_and_acronym(tagger: EntityTagger) -> None:
    entities = _entities(tagger, "001")
    asif = _find(entities, "Khawaja Asif")
    assert "Asif" in asif.mentions
    pti = _find(entities, "PTI", "ORG")
    assert "Pakistan Tehreek-e-Insaf" in pti.mentions and "PTI" in pti.mentions
    assert not [e for e in entities if e.name == "Pakistan Tehreek-e-Insaf"]
    _find(entities, "Donald Trump")
    _find(entities, "Imran Khan")


def test_seed_003_asif_is_farhat_asif_not_the_defence_minister(tagger: EntityTagger) -> None:
    entities = _entities(tagger, "003")
    farhat = _find(entities, "Farhat Asif")
    assert "Asif" in farhat.mentions
    assert not [e for e in entities if e.name == "Khawaja Asif"], "surnames must never link across articles"
    _find(entities, "Imran Khan")
    _find(entities, "PTI", "ORG")


def test_every_seed_yields_the_acceptance_entities_somewhere(tagger: EntityTagger, seed_texts: dict[str, str]) -> None:
    tagged = tagger.tag([seed_article(name, text) for name, text in seed_texts.items()])
    found = {(e.type, e.name) for entities in tagged for e in entities}
    for expected in [("PERSON", "Imran Khan"), ("PERSON", "Donald Trump"), ("PERSON", "Khawaja Asif"), ("ORG", "PTI")]:
        assert expected in found
    for entities in tagged:
        assert len({e.id for e in entities}) == len(entities), "one entity per canonical name and type"
        for entity in entities:
            assert entity.count >= len(entity.mentions) >= 1


def test_titles_are_stripped_from_names(tagger: EntityTagger) -> None:
    article = make_article(
        "budget.txt",
        "Finance Minister P. Chidambaram presented the budget in New Delhi on Monday. "
        "Mr Chidambaram said growth would reach 7%. Chidambaram's speech lasted two hours.",
        title="India unveils budget",
    )
    entities = tagger.tag([article])[0]
    person = [e for e in entities if e.type == "PERSON"]
    assert [e.name for e in person] == ["P. Chidambaram"]
    assert "Chidambaram" in person[0].mentions
    assert all(not m.startswith("Mr") for m in person[0].mentions)


def test_all_caps_headline_mentions_are_reported_as_written(tagger: EntityTagger) -> None:
    article = make_article(
        "cricket.txt",
        "LONDON 1996-08-30\nLeicestershire beat Somerset by an innings at Grace Road on Friday, "
        "with Phil Simmons taking four wickets. Simmons was named man of the match.",
        title="CRICKET - SOMERSET BEATEN AT GRACE ROAD AFTER INNINGS COLLAPSE.",
    )
    entities = tagger.tag([article])[0]
    by_name = {e.name: e for e in entities}
    assert by_name["Somerset"].mentions == ["SOMERSET", "Somerset"]
    assert by_name["Grace Road"].mentions == ["GRACE ROAD", "Grace Road"]
    london = by_name["London"]
    assert london.type == "LOCATION" and london.mentions == ["LONDON"]
    assert "Simmons" in by_name["Phil Simmons"].mentions
    assert not {"Cricket", "CRICKET", "Innings Victory"} & set(by_name)


@pytest.mark.parametrize(
    "text",
    ["SOCCER - ROMANIA BEAT LITHUANIA IN UNDER-21 MATCH.\nBody text", "İSTANBUL ÇAĞRI HABER\nx", "plain text"],
)
def test_restore_case_keeps_offsets(text: str) -> None:
    restored = restore_case(text)
    assert len(restored) == len(text)
    assert restored.lower() == text.lower() or restored.casefold() == text.casefold()


def test_acronym_definitions_require_matching_initials() -> None:
    found = acronym_definitions(
        "The Pakistan Tehreek-e-Insaf (PTI) and the Balochistan Liberation Army (BLA) met the press (AP)."
    )
    assert found["pakistan tehreek-e-insaf"] == "PTI"
    assert found["balochistan liberation army"] == "BLA"
    assert "the press" not in found
