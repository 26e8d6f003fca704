"""``/stories?entity=`` for an entity in many articles walks the newest articles instead of sorting every
matching story (issue 19): the pages must be exactly those of the full query, cursors and ties included."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from services.store.db.queries import stories as story_queries
from services.store.db.queries.entities import resolve_entities
from services.store.db.queries.stories import StoryFilters, StorySummary, list_stories
from services.store.db.read_connection import ReadConnection
from services.store.db.reader import ReadPool
from services.store.db.writes import upsert_articles
from shared.config import Settings
from shared.events import EnrichedArticle, EntityRef, RawArticle
from shared.identity import article_id, entity_id, sha256_hex, story_id

COMMON = ("LOCATION", "Leeds")
OTHER = ("PERSON", "Ada Lovelace")


def _events(count: int) -> list[EnrichedArticle]:
    rng = random.Random(19)
    base = datetime(2025, 1, 1, tzinfo=UTC)
    events, story, left = [], "", 0
    for i in range(count):
        if left == 0:
            story, left = story_id(f"test-story-{i}"), rng.randint(1, 5)
        left -= 1
        named = [COMMON] if rng.random() < 0.4 else []
        named += [OTHER] if rng.random() < 0.3 else []
        body = f"Article {i} about the council. " + " ".join(label for _, label in named)
        name = f"walk/{i:04d}.txt"
        digest = sha256_hex(body.encode())
        # Ties on purpose: three articles share each second.
        ingested = base + timedelta(seconds=i // 3)
        raw = RawArticle(
            article_id=article_id(name, digest),
            source_file=name,
            sha256=digest,
            size_bytes=len(body),
            content_type="text",
            body=body,
            received_at=ingested,
            ingested_at=ingested,
        )
        entities = [EntityRef(id=entity_id(t, n), name=n, type=t, mentions=[n], count=1) for t, n in named]
        events.append(
            EnrichedArticle(article=raw, entities=entities, content_hash=digest, story_id=story, enriched_at=ingested)
        )
    return events


async def _all_pages(conn: ReadConnection, filters: StoryFilters, limit: int) -> list[str]:
    listed: list[str] = []
    after = None
    while True:
        page: list[StorySummary] = await list_stories(conn, filters, limit=limit, after=after)
        if not page:
            return listed
        listed += [story.story_id for story in page]
        after = (page[-1].last_ingested_at, page[-1].story_id)


@pytest.mark.parametrize("min_originals", [1, 2])  # 2: the listing's default drops single reports
@pytest.mark.parametrize("names", [["Leeds"], ["Leeds", "Ada Lovelace"]])
def test_walking_the_newest_articles_lists_the_same_pages_as_the_full_query(
    writer: Engine, store_database_url: str, monkeypatch: pytest.MonkeyPatch, names: list[str], min_originals: int
) -> None:
    with writer.begin() as conn:
        upsert_articles(conn, _events(400))
    walks: list[int] = []

    async def compare(conn: ReadConnection) -> None:
        filters = StoryFilters(entity_ids=await resolve_entities(conn, names, None), min_originals=min_originals)
        monkeypatch.setattr(story_queries, "WALK_MIN_ARTICLES", 10**9)
        expected = {limit: await _all_pages(conn, filters, limit) for limit in (1, 4, 20)}
        monkeypatch.setattr(story_queries, "WALK_MIN_ARTICLES", 1)
        monkeypatch.setattr(story_queries, "_WALK_CHUNK_ARTICLES", 7)  # many chunks, ties across their edges
        real_walk = story_queries._walk_newest_stories

        async def counted_walk(*args: Any, **kwargs: Any) -> list[str] | None:
            walks.append(1)
            return await real_walk(*args, **kwargs)

        monkeypatch.setattr(story_queries, "_walk_newest_stories", counted_walk)
        for limit, listed in expected.items():
            assert len(listed) > 10
            assert await _all_pages(conn, filters, limit) == listed, limit

    async def run() -> None:
        pool = ReadPool(Settings(database_url=store_database_url))
        try:
            await pool.read(compare)
        finally:
            await pool.close()

    asyncio.run(run())
    assert walks, "the walk was used"
