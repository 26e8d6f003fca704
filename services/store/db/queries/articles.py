"""Read queries over articles: the full record of one article (the listing is ``db.listing``).

Queries only: no formatting and no HTTP.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, RowMapping, func, select

from services.store.db.models import article_entities, articles, entities

STORY_ARTICLES_MAX = 50


def entities_of(conn: Connection, article_ids: Sequence[str]) -> dict[str, list[RowMapping]]:
    """Each article's entities (id, name, type, mentions, mention_count) in order of appearance."""
    link, e = article_entities.c, entities.c
    query = (
        select(link.article_id, e.id, e.name, e.type, link.mentions, link.mention_count)
        .join_from(article_entities, entities, e.id == link.entity_id)
        .where(link.article_id.in_(list(article_ids)))
        .order_by(link.article_id, link.ordinal)
    )
    grouped: dict[str, list[RowMapping]] = {}
    for row in conn.execute(query).mappings():
        grouped.setdefault(row["article_id"], []).append(row)
    return grouped


@dataclass
class ArticleRecord:
    """One article in full: its row, entities, reprints or original, and its story's other articles."""

    fields: RowMapping
    entities: list[RowMapping]
    reprints: list[RowMapping]
    original: RowMapping | None
    story_articles: list[RowMapping]
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


def get_article(conn: Connection, article_id: str) -> ArticleRecord | None:
    a = articles.c
    columns = [column for column in articles.c if column.name != "search"]
    fields = conn.execute(select(*columns).where(a.article_id == article_id)).mappings().first()
    if fields is None:
        return None
    reprints = list(
        conn.execute(
            select(*_SUMMARY_COLUMNS).where(a.duplicate_of == article_id).order_by(a.ingested_at, a.article_id)
        ).mappings()
    )
    original = None
    if fields["duplicate_of"] is not None:
        original = (
            conn.execute(select(*_SUMMARY_COLUMNS).where(a.article_id == fields["duplicate_of"])).mappings().first()
        )
    story_articles: list[RowMapping] = []
    story_size = 0
    if fields["story_id"] is not None:
        story_size = conn.execute(select(func.count()).where(a.story_id == fields["story_id"])).scalar_one()
        story_articles = list(
            conn.execute(
                select(*_SUMMARY_COLUMNS)
                .where(a.story_id == fields["story_id"])
                .order_by(a.ingested_at, a.article_id)
                .limit(STORY_ARTICLES_MAX)
            ).mappings()
        )
    return ArticleRecord(
        fields=fields,
        entities=entities_of(conn, [article_id]).get(article_id, []),
        reprints=reprints,
        original=original,
        story_articles=story_articles,
        story_size=story_size,
    )
