"""Archive-level entity resolution (``db.entity_groups``) through the real writer and the read API.

Issue 22's reports: seed 002 writes only "Trump" and was a separate entity from "Donald Trump";
"Tracey Emin" was both a PERSON and an ORG; `q=Khan` did not find Imran Khan; `type=person` was
refused; `/articles?entity=Nobody` answered an empty 200.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from services.api.app import create_app
from services.store.consumer import make_article_handler
from services.store.db.entity_groups import SURNAME_SHARE
from shared.config import Settings
from shared.events import EnrichedArticle, EntityRef, EntityType
from shared.identity import entity_id, sha256_hex
from tests.store.seed_events import deliveries, text_article

BASE = datetime(2025, 5, 1, 8, 0, tzinfo=UTC)


def _article(index: int, *entities: tuple[EntityType, str, Sequence[str]]) -> EnrichedArticle:
    """An original article naming ``entities`` (type, canonical name, surface forms)."""
    body = f"Article {index}: " + "; ".join(form for _, _, forms in entities for form in forms) + "."
    at = BASE + timedelta(minutes=index)
    raw = text_article(
        f"group-{index:03d}.txt", body.encode(), body=body, title=None, published=None, source=None, ingested=at
    )
    refs = [
        EntityRef(id=entity_id(t, name), name=name, type=t, mentions=list(forms), count=len(forms))
        for t, name, forms in entities
    ]
    return EnrichedArticle(
        article=raw, entities=refs, content_hash=sha256_hex(body.encode()), enriched_at=at + timedelta(seconds=1)
    )


def _groups(engine: Engine) -> dict[str, str | None]:
    """name (type) -> the name (type) of its root, None for a root."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT e.name || ' (' || e.type || ')', r.name || ' (' || r.type || ')' "
                "FROM entities e LEFT JOIN entities r ON r.id = e.canonical_id"
            )
        ).all()
    return {row[0]: row[1] for row in rows}


TRUMP_ARCHIVE = [
    _article(1, ("PERSON", "Donald Trump", ["Donald Trump", "Trump"]), ("PERSON", "Imran Khan", ["Imran Khan"])),
    _article(2, ("PERSON", "Trump", ["Trump"]), ("PERSON", "Zulfi Bukhari", ["Zulfi Bukhari", "Bukhari"])),
    _article(3, ("ORG", "Trump", ["Trump"]), ("ORG", "PTI", ["Pakistan Tehreek-e-Insaf", "PTI"])),
    _article(4, ("PERSON", "Tracey Emin", ["Tracey Emin"])),
    _article(5, ("PERSON", "Tracey Emin", ["Tracey Emin", "Emin"])),
    _article(6, ("ORG", "Tracey Emin", ["Tracey Emin"])),
]


@pytest.fixture
def client(writer: Engine, store_database_url: str) -> Iterator[TestClient]:
    make_article_handler(writer)(deliveries(TRUMP_ARCHIVE))
    with TestClient(create_app(Settings(database_url=store_database_url))) as test_client:
        yield test_client


def _names(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


def _files(response: Any) -> set[str]:
    assert response.status_code == 200, response.text
    return {item["source_file"] for item in response.json()["items"]}


def test_a_surname_alone_and_a_second_type_fold_into_the_full_name(client: TestClient, writer: Engine) -> None:
    groups = _groups(writer)
    assert groups["Trump (PERSON)"] == "Donald Trump (PERSON)"
    assert groups["Trump (ORG)"] == "Donald Trump (PERSON)"
    assert groups["Tracey Emin (ORG)"] == "Tracey Emin (PERSON)" and groups["Tracey Emin (PERSON)"] is None
    everywhere = {"group-001.txt", "group-002.txt", "group-003.txt"}
    assert _files(client.get("/articles", params={"entity": "Donald Trump"})) == everywhere
    assert _files(client.get("/articles", params={"entity": "trump"})) == everywhere
    assert _files(client.get("/articles", params={"entity": entity_id("ORG", "Trump")})) == everywhere


def test_entities_are_listed_once_with_their_group_counted(client: TestClient) -> None:
    listed = client.get("/entities", params={"q": "trump"}).json()["items"]
    assert [(e["name"], e["type"], e["article_count"]) for e in listed] == [("Donald Trump", "PERSON", 3)]
    emin = client.get("/entities", params={"q": "EMIN"}).json()["items"]
    assert [(e["name"], e["type"], e["article_count"]) for e in emin] == [("Tracey Emin", "PERSON", 3)]
    profile = client.get("/entities/Trump").json()
    assert profile["name"] == "Donald Trump" and profile["article_count"] == 3
    assert "Trump" in profile["aliases"]
    assert sum(day["article_count"] for day in profile["per_day"]) == 3


def test_q_matches_any_word_of_a_name_or_surface_form(client: TestClient) -> None:
    assert _names(client.get("/entities", params={"q": "khan"})) == ["Imran Khan"]
    assert _names(client.get("/entities", params={"q": "buk"})) == ["Zulfi Bukhari"]
    # "Insaf" is a word of one of PTI's surface forms only.
    assert _names(client.get("/entities", params={"q": "insaf"})) == ["PTI"]
    assert _names(client.get("/entities", params={"q": "zulfi bukh"})) == ["Zulfi Bukhari"]
    assert _names(client.get("/entities", params={"q": "zulfi trump"})) == []


def test_entity_accepts_a_surface_form_and_type_any_case(client: TestClient) -> None:
    assert _files(client.get("/articles", params={"entity": "pakistan tehreek-e-insaf"})) == {"group-003.txt"}
    assert _files(client.get("/articles", params={"entity": "Bukhari"})) == {"group-002.txt"}
    people = client.get("/entities", params={"type": "person"})
    assert people.status_code == 200 and {e["type"] for e in people.json()["items"]} == {"PERSON"}
    # An article's type filter reads the type the name had in it: article 6 tagged Tracey Emin ORG.
    assert _files(client.get("/articles", params={"type": "Org"})) == {"group-003.txt", "group-006.txt"}


def test_an_unknown_entity_is_404_in_articles_as_in_entities(client: TestClient) -> None:
    for response in (client.get("/articles", params={"entity": "Nobody"}), client.get("/entities/Nobody")):
        assert response.status_code == 404, response.text
        assert "Nobody" in response.json()["detail"]
    both = client.get("/articles", params={"entity": ["Donald Trump", "Nobody"]})
    assert both.status_code == 404 and "Nobody" in both.json()["detail"]
    typed = client.get("/articles", params={"entity": "Zulfi Bukhari", "type": "ORG"})
    assert typed.status_code == 404 and "ORG" in typed.json()["detail"]


def test_grouping_does_not_depend_on_arrival_order(writer: Engine, store_database_url: str) -> None:
    handler = make_article_handler(writer)
    for event in reversed(TRUMP_ARCHIVE):
        handler(deliveries([event]))
    reversed_groups = _groups(writer)
    handler(deliveries(TRUMP_ARCHIVE))  # a redelivery of everything changes nothing
    assert _groups(writer) == reversed_groups
    assert reversed_groups["Trump (PERSON)"] == "Donald Trump (PERSON)"
    assert reversed_groups["Tracey Emin (ORG)"] == "Tracey Emin (PERSON)"


def test_an_ambiguous_surname_stays_apart_until_one_person_dominates(writer: Engine) -> None:
    handler = make_article_handler(writer)
    handler(
        deliveries(
            [
                _article(10, ("PERSON", "Imran Khan", ["Imran Khan"])),
                _article(11, ("PERSON", "Shahid Khan", ["Shahid Khan"])),
                _article(12, ("PERSON", "Khan", ["Khan"])),
            ]
        )
    )
    assert _groups(writer)["Khan (PERSON)"] is None
    more = int(SURNAME_SHARE / (1 - SURNAME_SHARE))  # Imran Khan's articles to one of Shahid Khan's: 4 to 1
    handler(deliveries([_article(20 + i, ("PERSON", "Imran Khan", ["Imran Khan", "Khan"])) for i in range(more - 1)]))
    assert _groups(writer)["Khan (PERSON)"] == "Imran Khan (PERSON)"
    # A second Shahid Khan article makes "Khan" ambiguous again.
    handler(deliveries([_article(40, ("PERSON", "Shahid Khan", ["Shahid Khan"]))]))
    assert _groups(writer)["Khan (PERSON)"] is None
