"""Matching (issue 26): decided once per newly stored article, in the store's transaction, with the meaning
``GET /articles`` gives the same filters; the feed carries each new article once, as the listing shows it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from services.api.app import create_app
from services.store.consumer import make_article_handler
from shared.config import Settings
from shared.events import EnrichedArticle
from tests.store.seed_events import deliveries, seed_events

# Filters as GET /articles takes them (lists are repeated parameters), each saved as a watch.
FILTERS: list[dict[str, Any]] = [
    {},
    {"include_duplicates": True},
    {"entity": ["Imran Khan"]},
    {"entity": ["khan"]},  # a surface form, any case
    {"entity": ["Donald Trump", "Zulfi Bukhari"]},  # AND
    {"entity": ["Trump"], "type": "ORG"},  # Trump is a PERSON: nothing
    {"type": "LOCATION"},
    {"q": "extradited"},
    {"q": "release -Tuberville"},
    {"q": '"solitary confinement"', "include_duplicates": True},
    {"source": ["ians", "Wire"]},
    {"source": ["Wire"], "include_duplicates": True},
    {"q": "Trump", "entity": ["Pakistan"], "source": ["IANS"]},
    {"entity": ["Nobody Atall"]},
]


@pytest.fixture
def api(store_database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=store_database_url))) as client:
        yield client


def _listed(api: TestClient, filters: dict[str, Any]) -> list[str]:
    response = api.get("/articles", params={**filters, "limit": 100})
    if response.status_code == 404:  # an entity nobody mentions
        return []
    assert response.status_code == 200, response.text
    return sorted(item["id"] for item in response.json()["items"])


def _matched(writer: Engine, watch_id: int) -> list[str]:
    with writer.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT f.article_id FROM watch_matches m JOIN watch_feed f ON f.seq = m.seq "
                "WHERE m.watch_id = :w ORDER BY f.article_id"
            ),
            {"w": watch_id},
        )
        return [row.article_id for row in rows]


def test_each_watch_matches_what_get_articles_lists_for_its_filters(api: TestClient, writer: Engine) -> None:
    watch_ids = [api.post("/watches", json={"name": f"w{i}", **f}).json()["id"] for i, f in enumerate(FILTERS)]
    events = seed_events()
    handle = make_article_handler(writer)
    handle(deliveries(events[:3]))
    handle(deliveries(events[3:], first_offset=3))
    handle(deliveries(events))  # redelivered: stored already, matched already
    non_empty = 0
    for watch_id, filters in zip(watch_ids, FILTERS, strict=True):
        expected = _listed(api, filters)
        assert _matched(writer, watch_id) == expected, filters
        assert api.get(f"/watches/{watch_id}").json()["matches"] == len(expected)
        non_empty += bool(expected)
    assert non_empty >= 10, "the filters exercise matches, not only misses"


def test_the_feed_holds_each_new_article_once_as_the_listing_shows_it(api: TestClient, writer: Engine) -> None:
    events = seed_events()
    handle = make_article_handler(writer)
    handle(deliveries(events))
    handle(deliveries(events[:2]))
    with writer.connect() as conn:
        feed = conn.execute(text("SELECT seq, kind, article_id, payload FROM watch_feed ORDER BY seq")).all()
    assert [row.article_id for row in feed] == [event.article.article_id for event in events]
    assert {row.kind for row in feed} == {"article"}
    listed = {item["id"]: item for item in api.get("/articles", params={"include_duplicates": True}).json()["items"]}
    for row in feed:
        assert json.loads(row.payload) == listed[row.article_id], row.article_id


def test_a_watch_created_later_matches_only_articles_stored_after_it(api: TestClient, writer: Engine) -> None:
    events: list[EnrichedArticle] = seed_events()
    handle = make_article_handler(writer)
    handle(deliveries(events[:3]))
    watch_id = api.post("/watches", json={"name": "all", "include_duplicates": True}).json()["id"]
    handle(deliveries(events[3:], first_offset=3))
    assert _matched(writer, watch_id) == sorted(event.article.article_id for event in events[3:])


def test_a_watch_whose_stored_filters_no_longer_validate_is_skipped(api: TestClient, writer: Engine) -> None:
    good = api.post("/watches", json={"name": "all"}).json()["id"]
    bad = api.post("/watches", json={"name": "old"}).json()["id"]
    with writer.begin() as conn:  # as if saved under looser rules
        conn.execute(text("UPDATE watches SET entity_type = 'PLANET' WHERE id = :id"), {"id": bad})
    events = seed_events()
    make_article_handler(writer)(deliveries(events))
    assert _matched(writer, good) == sorted(e.article.article_id for e in events if e.duplicate is None)
    assert _matched(writer, bad) == []
    assert len(api.get("/articles", params={"include_duplicates": True}).json()["items"]) == len(events)
