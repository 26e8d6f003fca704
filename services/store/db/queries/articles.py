"""Read queries over articles: the full record of one article (the listing is ``db.listing``).

Queries only: no formatting and no HTTP.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from services.store.db.models import article_entities, articles, entities
from services.store.db.read_connection import ReadConnection

STORY_ARTICLES_MAX = 50


async def entities_of(conn: ReadConnection, article_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Each article's entities (id, name, type, mentions, mention_count) in order of appearance."""
    link, e = article_entities.c, entities.c
    query = (
        select(link.article_id, e.id, e.name, e.type, link.mentions, link.mention_count)
        .join_from(article_entities, entities, e.id == link.entity_id)
        .where(link.article_id.in_(list(article_ids)))
        .order_by(link.article_id, link.ordinal)
    )
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in (await conn.execute(query)).mappings():
        grouped.setdefault(row["article_id"], []).append(row)
    return grouped


@dataclass
class ArticleRecord:
    """One article in full: its row, entities, reprints or original, and its story's other articles."""

    fields: dict[str, Any]
    entities: list[dict[str, Any]]
    reprints: list[dict[str, Any]]
    original: dict[str, Any] | None
    story_articles: list[dict[str, Any]]
    story_size: int


_SUMMARY_COLUMNS = (
    articles.c.article_id,
    func.coalesce(articles.c.derived_title, articles.c.title).label("title"),
    articles.c.derived_title.isnot(None).label("title_derived"),
    articles.c.source_file,
    articles.c.source,
    articles.c.published_at,
    articles.c.ingested_at,
    articles.c.duplicate_kind,
    articles.c.similarity,
    articles.c.duplicate_evidence,
)


async def get_article(conn: ReadConnection, article_id: str) -> ArticleRecord | None:
    a = articles.c
    columns = [column for column in articles.c if column.name != "search"]
    row = (await conn.execute(select(*columns).where(a.article_id == article_id))).first()
    if row is None:
        return None
    fields = row.as_mapping()
    by_time = (a.ingested_at, a.article_id)
    reprints = (
        await conn.execute(select(*_SUMMARY_COLUMNS).where(a.duplicate_of == article_id).order_by(*by_time))
    ).mappings()
    original = None
    if fields["duplicate_of"] is not None:
        found = (await conn.execute(select(*_SUMMARY_COLUMNS).where(a.article_id == fields["duplicate_of"]))).first()
        original = found.as_mapping() if found is not None else None
    story_articles: list[dict[str, Any]] = []
    story_size = 0
    if fields["story_id"] is not None:
        in_story = a.story_id == fields["story_id"]
        story_size = (await conn.execute(select(func.count()).where(in_story))).scalar_one()
        story_query = select(*_SUMMARY_COLUMNS).where(in_story).order_by(*by_time).limit(STORY_ARTICLES_MAX)
        story_articles = (await conn.execute(story_query)).mappings()
    return ArticleRecord(
        fields=fields,
        entities=(await entities_of(conn, [article_id])).get(article_id, []),
        reprints=reprints,
        original=original,
        story_articles=story_articles,
        story_size=story_size,
    )
