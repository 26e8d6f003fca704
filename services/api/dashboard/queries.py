"""The dashboard's database side: the latest articles, the top entities and biggest stories of the last day.

Entity counts are of original articles (reprints folded into their original), as ``/entities``
counts them; "the last day" is by arrival (``ingested_at``), the clock the pipeline runs on.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import text

from services.store.db.models import shown_title_sql
from services.store.db.queries.stories import top_stories
from services.store.db.read_connection import ReadConnection
from shared.events import utcnow

LATEST_ARTICLES_LIMIT = 10
TOP_ENTITIES_LIMIT = 10
TOP_ENTITIES_SINCE_HOURS = 24
TOP_STORIES_LIMIT = 5
TOP_STORIES_SINCE_HOURS = 24

_LATEST = text(
    f"""
    SELECT a.article_id, {shown_title_sql("a")} AS title, a.source_file, a.source, a.published_at,
           a.ingested_at, a.stored_at,
           a.duplicate_of, a.duplicate_kind,
           (SELECT count(*) FROM article_entities ae WHERE ae.article_id = a.article_id) AS entity_count
    FROM articles a
    ORDER BY a.ingested_at DESC, a.article_id DESC
    LIMIT :limit
    """
)

# Counted by the archive's entity (the root a row is folded into: an article that only writes
# "Trump" counts for Donald Trump), each article once, as /entities counts them.
_TOP_ENTITIES = text(
    """
    SELECT r.id, r.name, r.type, count(DISTINCT a.article_id) AS articles
    FROM article_entities ae
    JOIN articles a ON a.article_id = ae.article_id
    JOIN entities e ON e.id = ae.entity_id
    JOIN entities r ON r.id = coalesce(e.canonical_id, e.id)
    WHERE ae.in_original AND a.ingested_at >= now() - make_interval(hours => :hours)
    GROUP BY r.id, r.name, r.type
    ORDER BY articles DESC, r.name, r.id
    LIMIT :limit
    """
)


class LatestArticle(BaseModel):
    id: str
    title: str | None
    source_file: str
    source: str | None
    published_at: str | None
    ingested_at: datetime
    stored_at: datetime
    duplicate_of: str | None
    duplicate_kind: str | None
    entity_count: int


class TopEntity(BaseModel):
    id: str
    name: str
    type: str
    articles: int


class TopStory(BaseModel):
    id: str
    label: str
    headline: str | None
    articles: int
    article_count: int
    source_count: int


async def latest_articles(conn: ReadConnection, limit: int = LATEST_ARTICLES_LIMIT) -> list[LatestArticle]:
    rows = (await conn.execute(_LATEST, {"limit": limit})).mappings()
    return [
        LatestArticle(
            id=row["article_id"],
            title=row["title"],
            source_file=row["source_file"],
            source=row["source"],
            published_at=row["published_at"].isoformat() if row["published_at"] else None,
            ingested_at=row["ingested_at"],
            stored_at=row["stored_at"],
            duplicate_of=row["duplicate_of"],
            duplicate_kind=row["duplicate_kind"],
            entity_count=row["entity_count"],
        )
        for row in rows
    ]


async def top_entities(
    conn: ReadConnection, limit: int = TOP_ENTITIES_LIMIT, hours: int = TOP_ENTITIES_SINCE_HOURS
) -> list[TopEntity]:
    rows = (await conn.execute(_TOP_ENTITIES, {"limit": limit, "hours": hours})).mappings()
    return [TopEntity(id=row["id"], name=row["name"], type=row["type"], articles=row["articles"]) for row in rows]


async def biggest_stories(
    conn: ReadConnection, limit: int = TOP_STORIES_LIMIT, hours: int = TOP_STORIES_SINCE_HOURS
) -> list[TopStory]:
    """The stories that gained the most articles in the last ``hours``; ``articles`` counts only those."""
    return [
        TopStory(
            id=story.summary.story_id,
            label=story.summary.label,
            headline=story.summary.headline,
            articles=story.recent_articles,
            article_count=story.summary.article_count,
            source_count=story.summary.source_count,
        )
        for story in await top_stories(conn, since=utcnow() - timedelta(hours=hours), limit=limit)
    ]
