"""Listing rows (``article_listings``): rendered by the writer, exact after redelivery and new versions.

The read API's listing sends the JSON these rows hold without rebuilding it, so the tests compare
them with what the normalised tables say (links joined with entities, the body's opening) and
compare the listing's items with the full record, which is still built from those tables by the
response models.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from services.store.api.app import create_app
from services.store.consumer import make_article_handler
from services.store.db.queries import articles as article_queries
from services.store.db.queries.articles import (
    ArticleFilters,
    _driving_group,
    list_articles,
    resolve_entities_counted,
)
from services.store.db.reader import AsyncConnection, ReadPool
from services.store.snippets import opening
from shared.config import Settings
from shared.db import run_migrations
from shared.events import EnrichedArticle, EntityRef
from shared.identity import entity_id
from tests.store.conftest import deliveries, snapshot
from tests.store.seed_events import by_prefix, seed_events

# What the listing rows must equal: the links and entity rows, rendered the way the API lists them.
_FROM_THE_LINKS = text(
    """
    SELECT a.article_id, a.body, l.entities::text AS listed, l.opening,
           coalesce((
               SELECT json_agg(json_build_object('id', e.id, 'name', e.name, 'type', e.type,
                                                 'mentions', ae.mentions, 'count', ae.mention_count)
                               ORDER BY ae.ordinal)
               FROM article_entities ae JOIN entities e ON e.id = ae.entity_id
               WHERE ae.article_id = a.article_id
           ), '[]'::json)::text AS linked
    FROM articles a LEFT JOIN article_listings l ON l.article_id = a.article_id
    ORDER BY a.article_id
    """
)


def _assert_listings_match_the_links(engine: Engine) -> int:
    with engine.connect() as conn:
        rows = conn.execute(_FROM_THE_LINKS).all()
    for row in rows:
        assert row.listed is not None, f"article {row.article_id} has no listing row"
        assert json.loads(row.listed) == json.loads(row.linked), row.article_id
        assert row.opening == opening(row.body), row.article_id
    return len(rows)


def _retagged(event: EnrichedArticle, entities: list[EntityRef], hours: int) -> EnrichedArticle:
    return event.model_copy(update={"entities": entities, "enriched_at": event.enriched_at + timedelta(hours=hours)})


def test_listings_are_exact_after_redelivery_and_new_versions(writer: Engine) -> None:
    handle = make_article_handler(writer)
    events = seed_events()
    handle(deliveries(events))
    assert _assert_listings_match_the_links(writer) == 6
    first = snapshot(writer)

    redelivered = events * 3
    random.Random(5).shuffle(redelivered)
    for start in range(0, len(redelivered), 4):
        handle(deliveries(redelivered[start : start + 4]))
    assert snapshot(writer) == first, "redelivery changes no listing row"

    seed = by_prefix(events)["001"]
    new_entity = EntityRef(id=entity_id("ORG", "Senate"), name="Senate", type="ORG", mentions=["Senate"], count=2)
    # A newer enrichment drops one entity, adds one and changes a body: the listing follows all three.
    newer = _retagged(seed, [new_entity, *seed.entities[1:]], hours=1)
    newer = newer.model_copy(update={"article": newer.article.model_copy(update={"body": "A corrected <b>body</b>."})})
    handle(deliveries([newer]))
    _assert_listings_match_the_links(writer)
    with writer.connect() as conn:
        listed = conn.execute(
            text("SELECT entities::text, opening FROM article_listings WHERE article_id = :id"),
            {"id": seed.article.article_id},
        ).one()
    assert json.loads(listed[0])[0]["name"] == "Senate"
    assert listed[1] == "A corrected &lt;b&gt;body&lt;/b&gt;."

    # The older version arriving late changes nothing.
    before = snapshot(writer)
    handle(deliveries([seed]))
    assert snapshot(writer) == before


def test_listing_shows_the_stored_spelling_of_a_name(writer: Engine) -> None:
    """Entity ids ignore case, so "IMRAN KHAN" is the entity first stored as "Imran Khan"; listings say so."""
    handle = make_article_handler(writer)
    seeds = by_prefix(seed_events())
    handle(deliveries([seeds["000"]]))
    shouted = EntityRef(
        id=entity_id("PERSON", "IMRAN KHAN"), name="IMRAN KHAN", type="PERSON", mentions=["Khan"], count=1
    )
    assert shouted.id == entity_id("PERSON", "Imran Khan")
    handle(deliveries([seeds["002"].model_copy(update={"entities": [shouted]})]))
    _assert_listings_match_the_links(writer)
    with writer.connect() as conn:
        listed = conn.execute(
            text("SELECT entities::text FROM article_listings WHERE article_id = :id"),
            {"id": seeds["002"].article.article_id},
        ).scalar_one()
    assert json.loads(listed) == [
        {"id": shouted.id, "name": "Imran Khan", "type": "PERSON", "mentions": ["Khan"], "count": 1}
    ]


def test_migration_fills_listings_for_articles_already_stored(writer: Engine, store_database_url: str) -> None:
    make_article_handler(writer)(deliveries(seed_events()))
    written = snapshot(writer)["article_listings"]
    writer.dispose()  # the downgrade drops a table these pooled connections have read
    run_migrations(store_database_url, service="store", revision="0001_store_schema", downgrade=True)
    run_migrations(store_database_url, service="store")
    assert snapshot(writer)["article_listings"] == written


_LISTED_FIELDS = (
    "id",
    "title",
    "source_file",
    "source",
    "published_at",
    "ingested_at",
    "duplicate_of",
    "story_id",
    "snippet",
    "reprint_count",
    "entities",
)


def _listing(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/articles", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_listed_items_equal_the_full_records(client: TestClient) -> None:
    """Each item Postgres rendered says what the full record (built by the response models) says."""
    items = _listing(client, include_duplicates="true")
    assert len(items) == 6
    for item in items:
        assert list(item) == list(_LISTED_FIELDS), "the fields of ArticleItem, in its order"
        detail = client.get(f"/articles/{item['id']}").json()
        assert {name: item[name] for name in _LISTED_FIELDS} == {name: detail[name] for name in _LISTED_FIELDS}


def test_timestamps_read_as_the_models_print_them(writer: Engine, store_database_url: str) -> None:
    """Whole seconds and fractions alike: ingested_at in a listing is the string the models give."""
    seeds = seed_events()
    shifted = [
        e.model_copy(
            update={
                "article": e.article.model_copy(
                    update={"ingested_at": e.article.ingested_at + timedelta(microseconds=i * 1500)}
                )
            }
        )
        for i, e in enumerate(seeds)
    ]
    make_article_handler(writer)(deliveries(shifted))
    with TestClient(create_app(Settings(database_url=store_database_url))) as client:
        items = _listing(client, include_duplicates="true")
        assert {item["ingested_at"][-1] for item in items} == {"Z"}
        assert any("." in item["ingested_at"] for item in items) and any(
            "." not in item["ingested_at"] for item in items
        )
        for item in items:
            assert item["ingested_at"] == client.get(f"/articles/{item['id']}").json()["ingested_at"]


def _on_read_pool(database_url: str, work: Callable[[AsyncConnection], Awaitable[Any]]) -> Any:
    """``work`` on a connection of the API's own read pool, as the listing route runs it."""

    async def run() -> Any:
        pool = ReadPool(Settings(database_url=database_url))
        try:
            return await pool.run(work)
        finally:
            await pool.close()

    return asyncio.run(run())


@pytest.mark.parametrize("entity_names", [["Imran Khan"], ["Imran Khan", "Zulfi Bukhari"], ["Tommy Tuberville"]])
def test_rare_entities_fetched_by_id_list_the_same_page(seeded_database_url: str, entity_names: list[str]) -> None:
    """The listing driven by a rare entity's article ids returns what the index walk returns."""

    async def compare(conn: AsyncConnection) -> None:
        groups, counts, _ = await resolve_entities_counted(conn, entity_names, None)
        walked = ArticleFilters(entity_ids=groups)
        by_id = ArticleFilters(entity_ids=groups, entity_counts=counts, archive_estimate=1e9)
        assert _driving_group(by_id, 21) is not None and _driving_group(walked, 21) is None
        for sort in ("-ingested_at", "published_at"):
            first = await list_articles(conn, walked, sort=sort, limit=3)
            assert first, "the seeds mention these entities"
            assert [r.article_id for r in await list_articles(conn, by_id, sort=sort, limit=3)] == [
                r.article_id for r in first
            ]
            key = first[-1].sort_key  # as the route puts it in a cursor: undated sorts last, as infinity
            after_key = key if sort == "-ingested_at" else (key.isoformat() if key is not None else "infinity")
            after = (after_key, first[-1].article_id)
            assert [r.article_id for r in await list_articles(conn, by_id, sort=sort, limit=100, after=after)] == [
                r.article_id for r in await list_articles(conn, walked, sort=sort, limit=100, after=after)
            ]

    _on_read_pool(seeded_database_url, compare)


@pytest.mark.parametrize("sort", ["-ingested_at", "ingested_at", "-published_at", "published_at"])
@pytest.mark.parametrize("walk_rows", [1, 3, 100])
def test_date_sorted_search_lists_the_same_pages_walked_or_from_the_index(
    seeded_database_url: str, monkeypatch: pytest.MonkeyPatch, sort: str, walk_rows: int
) -> None:
    """Whether the bounded walk filled the page or the GIN index did, the pages are the same."""
    monkeypatch.setattr(article_queries, "SEARCH_WALK_ROWS", walk_rows)
    filters = ArticleFilters(q="Imran Khan", include_duplicates=True)

    async def page_through(conn: AsyncConnection) -> tuple[list[str], list[str]]:
        everything = [row.article_id for row in await list_articles(conn, filters, sort=sort, limit=100)]
        paged: list[str] = []
        after = None
        while True:
            rows = await list_articles(conn, filters, sort=sort, limit=3, after=after)  # the route asks for limit + 1
            paged += [row.article_id for row in rows[:2]]
            if len(rows) < 3:
                break
            last = rows[1]
            key = last.sort_key
            if sort.endswith("published_at"):
                key = key.isoformat() if key is not None else ("-infinity" if sort.startswith("-") else "infinity")
            after = (key, last.article_id)
        return everything, paged

    everything, paged = _on_read_pool(seeded_database_url, page_through)
    assert len(everything) == 6
    assert paged == everything
