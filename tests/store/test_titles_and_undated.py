"""Every article has a title (the file's, else one derived from the body, flagged), and undated
articles stay null yet findable: what since/until do with them, dated=, and the per-day counts."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text

from services.store.consumer import make_article_handler
from shared.db import run_migrations, sqlalchemy_url
from shared.titles import derive_title
from tests.store.seed_events import SEED_TITLES, by_prefix, deliveries, seed_events


def _items(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/articles", params={"limit": 100, "include_duplicates": "true", **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _prefixes(items: list[dict[str, Any]]) -> list[str]:
    return sorted(item["source_file"][:3] for item in items if item["duplicate_of"] is None)


def test_every_listed_article_has_a_title_and_says_whether_it_was_derived(client: TestClient) -> None:
    events = by_prefix(seed_events())
    for item in _items(client):
        assert item["title"], item["source_file"]
        prefix = item["source_file"][:3]
        if prefix in SEED_TITLES and item["duplicate_of"] is None:
            assert item["title_derived"] is False and item["title"] == SEED_TITLES[prefix]
        elif item["duplicate_of"] is None:
            assert item["title_derived"] is True
            assert item["title"] == derive_title(events[prefix].article.body)


def test_the_full_record_and_its_summaries_carry_the_same_title(client: TestClient) -> None:
    undated = next(item for item in _items(client) if item["source_file"].startswith("000"))
    detail = client.get(f"/articles/{undated['id']}").json()
    assert (detail["title"], detail["title_derived"]) == (undated["title"], True)
    reprint = next(item for item in _items(client) if item["duplicate_of"] is not None)
    original = client.get(f"/articles/{reprint['duplicate_of']}").json()
    assert original["reprints"][0]["title_derived"] is reprint["title_derived"]
    assert original["reprints"][0]["title"] == reprint["title"]


def test_since_and_until_leave_undated_articles_out_and_dated_false_lists_them(client: TestClient) -> None:
    everything = _prefixes(_items(client))
    assert everything == ["000", "001", "002", "003", "004"]
    # 000 has no publication date: no date compares with it, so since= leaves it out...
    assert _prefixes(_items(client, since="2000-01-01")) == ["001", "002", "003", "004"]
    assert _prefixes(_items(client, until="2100-01-01")) == ["001", "002", "003", "004"]
    # ...and dated=false finds it (and only it); dated=true is what since/until see.
    undated = _items(client, dated="false")
    assert _prefixes(undated) == ["000"] and all(item["published_at"] is None for item in undated)
    assert _prefixes(_items(client, dated="true")) == ["001", "002", "003", "004"]
    assert _prefixes(_items(client, dated="false", q="Asif")) == ["000"]


def test_dated_false_with_since_is_refused_with_a_reason(client: TestClient) -> None:
    response = client.get("/articles", params={"dated": "false", "since": "2024-01-01"})
    assert response.status_code == 422
    assert "since/until" in response.text and "dated" in response.text


def test_the_api_documents_what_since_does_with_undated_articles(client: TestClient) -> None:
    parameters = {p["name"]: p for p in client.get("/openapi.json").json()["paths"]["/articles"]["get"]["parameters"]}
    assert "dated=false" in parameters["since"]["description"]
    assert "left out" in parameters["until"]["description"]
    assert "undated" in parameters["dated"]["description"]


def test_per_day_counts_say_which_days_hold_undated_articles(client: TestClient) -> None:
    profile = client.get("/entities/Zulfi Bukhari").json()  # in 000 (undated) and 002 (2024-11-07)
    days = {row["day"]: row for row in profile["per_day"]}
    assert days["2024-11-07"] == {"day": "2024-11-07", "article_count": 1, "undated_count": 0}
    ingest_day = _items(client, dated="false")[0]["ingested_at"][:10]
    assert days[ingest_day]["undated_count"] == 1, "000 counts on its ingest day, and says so"
    assert sum(row["article_count"] for row in profile["per_day"]) == profile["article_count"]


def test_derived_titles_migration_derives_the_articles_stored_before(writer: Engine, store_database_url: str) -> None:
    make_article_handler(writer)(deliveries(seed_events()))
    writer.dispose()
    engine = create_engine(sqlalchemy_url(store_database_url))
    query = text("SELECT source_file, derived_title, body, title FROM articles ORDER BY source_file")
    try:
        with engine.connect() as conn:
            written = conn.execute(query).all()
        run_migrations(store_database_url, service="store", revision="0005_article_entity_ids", downgrade=True)
        engine.dispose()
        run_migrations(store_database_url, service="store")
        with engine.connect() as conn:
            derived = conn.execute(query).all()
    finally:
        engine.dispose()
    assert derived == written
    assert [(row.source_file[:3], row.derived_title is None) for row in derived] == [
        ("000", False),
        ("001", True),
        ("002", False),
        ("003", True),
        ("004", False),
        ("rep", True),  # the reprint of 003 has 003's headline
    ]
    assert all(row.derived_title == derive_title(row.body) for row in derived if row.title is None)
