"""Read queries over entities: the prefix-searchable, keyset-paged list and one entity's profile.

An entity's profile is its row (canonical name, type, aliases, article count), the entities that
appear in the same articles most often, and how many of its articles fall on each day. Like
``article_count``, these count original articles: a reprint group counts once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, Connection, RowMapping, case, func, select, text, tuple_

from services.store.db.models import entities

EntitySort = Literal["-article_count", "name"]

CO_OCCURRING_MAX = 10
# The most recent days with articles that a profile lists (a year of daily counts).
PER_DAY_MAX_DAYS = 366

_CO_OCCURRING = text(
    """
    SELECT e.id, e.name, e.type, count(*) AS shared_articles
    FROM article_entities mine
    JOIN article_entities other ON other.article_id = mine.article_id AND other.entity_id <> mine.entity_id
    JOIN entities e ON e.id = other.entity_id
    WHERE mine.entity_id = :entity_id AND mine.in_original
    GROUP BY e.id, e.name, e.type
    ORDER BY shared_articles DESC, e.name, e.id
    LIMIT :limit
    """
)

# An article's day is its publication date; an undated article counts on the day it was ingested,
# and each day says how many of its articles were counted so (undated_count).
_PER_DAY = text(
    """
    SELECT day, count(*) AS article_count, count(*) FILTER (WHERE undated) AS undated_count FROM (
        SELECT coalesce(a.published_at, (a.ingested_at AT TIME ZONE 'UTC')::date) AS day,
               a.published_at IS NULL AS undated
        FROM article_entities ae JOIN articles a ON a.article_id = ae.article_id
        WHERE ae.entity_id = :entity_id AND ae.in_original
    ) AS days
    GROUP BY day ORDER BY day DESC LIMIT :limit
    """
)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_entities(
    conn: Connection,
    *,
    q: str | None,
    entity_type: str | None,
    sort: EntitySort,
    limit: int,
    after: tuple[Any, str] | None = None,
) -> list[RowMapping]:
    """Up to ``limit`` entities whose canonical name starts with ``q`` (any case), after ``after``."""
    e = entities.c
    conditions: list[ColumnElement[bool]] = []
    if q is not None:
        conditions.append(func.lower(e.name).like(_escape_like(q.lower()) + "%", escape="\\"))
    if entity_type is not None:
        conditions.append(e.type == entity_type)
    if sort == "-article_count":
        position, order = tuple_(e.article_count, e.id), (e.article_count.desc(), e.id.desc())
        if after is not None:
            conditions.append(position < tuple_(after[0], after[1]))
    else:
        position, order = tuple_(e.name, e.id), (e.name.asc(), e.id.asc())
        if after is not None:
            conditions.append(position > tuple_(after[0], after[1]))
    query = select(e.id, e.name, e.type, e.article_count).where(*conditions).order_by(*order).limit(limit)
    return list(conn.execute(query).mappings())


@dataclass
class EntityProfile:
    fields: RowMapping
    co_occurring: list[RowMapping]
    per_day: list[RowMapping]


def find_entity(conn: Connection, key: str) -> RowMapping | None:
    """The entity with this id, else the one with this canonical name (any case; the most mentioned wins)."""
    e = entities.c
    columns = (e.id, e.name, e.type, e.aliases, e.article_count, e.first_seen_at)
    row = conn.execute(select(*columns).where(e.id == key)).mappings().first()
    if row is not None:
        return row
    exact_case_first = case((e.name == key, 0), else_=1)
    return (
        conn.execute(
            select(*columns)
            .where(func.lower(e.name) == key.lower())
            .order_by(exact_case_first, e.article_count.desc(), e.id)
            .limit(1)
        )
        .mappings()
        .first()
    )


def entity_profile(conn: Connection, key: str) -> EntityProfile | None:
    fields = find_entity(conn, key)
    if fields is None:
        return None
    params = {"entity_id": fields["id"]}
    co_occurring = list(conn.execute(_CO_OCCURRING, {**params, "limit": CO_OCCURRING_MAX}).mappings())
    per_day = list(conn.execute(_PER_DAY, {**params, "limit": PER_DAY_MAX_DAYS}).mappings())
    per_day.reverse()  # oldest first, as a chart reads
    return EntityProfile(fields=fields, co_occurring=co_occurring, per_day=per_day)
