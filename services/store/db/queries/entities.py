"""Read queries over entities: the word-searchable, keyset-paged list and one entity's profile.

An entity as the API shows it is a *root* with the rows folded into it across the archive
(``db.entity_groups``: "Trump" into "Donald Trump", a second type of the same name into the
first). A value names entities by id, by name (any case), else by any surface form they were
found under (any case); each is read as its root's whole group. An entity's profile is its root
row (canonical name, type), every name and surface form of the group, the entities that appear
in the same articles most often, and how many of its articles fall on each day. Like
``article_count``, these count original articles: a reprint group counts once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, TextClause, select, text, tuple_

from services.store.db.models import entities
from services.store.db.read_connection import ReadConnection
from services.store.db.reader import AsyncConnection

EntitySort = Literal["-article_count", "name"]

CO_OCCURRING_MAX = 10
# The most recent days with articles that a profile lists (a year of daily counts).
PER_DAY_MAX_DAYS = 366

# Each value's roots (psycopg parameter style: it runs on the async pool and, through
# exec_driver_sql, on SQLAlchemy): the entity with this id or name (any case); only when none has,
# the entities found under this surface form (any case; the words index narrows them first).
ROOTS_OF_VALUES_SQL = """
    WITH v AS (SELECT value, n FROM unnest(CAST(%(values)s AS text[])) WITH ORDINALITY AS v(value, n)),
    named AS (
        SELECT v.n, coalesce(e.canonical_id, e.id) AS root FROM v JOIN entities e ON e.id = v.value
        UNION
        SELECT v.n, coalesce(e.canonical_id, e.id) FROM v JOIN entities e ON lower(e.name) = lower(v.value)
    ),
    aliased AS (
        SELECT v.n, coalesce(e.canonical_id, e.id) AS root
        FROM v JOIN entities e ON e.words @@ phraseto_tsquery('simple', v.value)
        WHERE NOT EXISTS (SELECT 1 FROM named WHERE named.n = v.n)
          AND EXISTS (SELECT 1 FROM unnest(e.aliases) AS a(form) WHERE lower(a.form) = lower(v.value))
    ),
    roots AS (SELECT n, root FROM named UNION SELECT n, root FROM aliased),
    typed AS (
        SELECT roots.n, r.id, r.name, r.type FROM roots JOIN entities r ON r.id = roots.root
        WHERE CAST(%(type)s AS text) IS NULL OR r.type = CAST(%(type)s AS text)
    )
"""

# Each value's entity group (its root and the rows folded into it, see db.entity_groups), with
# each row's article count and the archive's size as the planner estimates it (pg_class: no count).
_RESOLVE_ENTITIES_SQL = (
    ROOTS_OF_VALUES_SQL
    + """
    SELECT t.n, m.id, m.article_count, archive.size
    FROM typed t
    JOIN entities m ON m.id = t.id OR m.canonical_id = t.id
    CROSS JOIN (SELECT greatest(reltuples, 0) AS size FROM pg_class WHERE oid = 'articles'::regclass) AS archive
"""
)


async def resolve_entities(conn: ReadConnection, values: Sequence[str], entity_type: str | None) -> list[list[str]]:
    """For each value (an entity id, name or surface form, any case), the ids of the entity group it names."""
    return (await resolve_entities_counted(conn.raw, values, entity_type))[0]


async def resolve_entities_counted(
    conn: AsyncConnection, values: Sequence[str], entity_type: str | None
) -> tuple[list[list[str]], list[int], float]:
    """The ids each value names, how many original articles each group's entities appear in, and the archive's size."""
    if not values:
        return [], [], 0.0
    cursor = await conn.execute(
        _RESOLVE_ENTITIES_SQL.encode(), {"values": list(values), "type": entity_type}, prepare=True
    )
    return _resolved(len(values), await cursor.fetchall())


def _resolved(count: int, rows: Iterable[Any]) -> tuple[list[list[str]], list[int], float]:
    groups: list[list[str]] = [[] for _ in range(count)]
    counts = [0] * count
    archive = 0.0
    for position, entity_id, article_count, estimate in rows:
        groups[position - 1].append(entity_id)
        counts[position - 1] += article_count
        archive = float(estimate)
    return groups, counts, archive


# Roots with a name or surface form (theirs or a folded row's) holding a word that starts with each
# word of q, the words parsed as the words column parses them: "imr kha" -> imr:* & kha:*.
_MATCHING_WORDS = text(
    """
    entities.id IN (
        SELECT coalesce(f.canonical_id, f.id) FROM entities f
        WHERE f.words @@ (
            SELECT to_tsquery('simple', string_agg(quote_literal(w) || ':*', ' & '))
            FROM unnest(tsvector_to_array(to_tsvector('simple', CAST(:q AS text)))) AS w
        )
    )
    """
)

_CO_OCCURRING = text(
    """
    SELECT e.id, e.name, e.type, count(DISTINCT mine.article_id) AS shared_articles
    FROM article_entities mine
    JOIN article_entities other
      ON other.article_id = mine.article_id AND other.entity_id <> ALL(CAST(:entity_ids AS text[]))
    JOIN entities o ON o.id = other.entity_id
    JOIN entities e ON e.id = coalesce(o.canonical_id, o.id)
    WHERE mine.entity_id = ANY(CAST(:entity_ids AS text[])) AND mine.in_original
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
        SELECT DISTINCT ON (a.article_id) coalesce(a.published_at, (a.ingested_at AT TIME ZONE 'UTC')::date) AS day,
               a.published_at IS NULL AS undated
        FROM article_entities ae JOIN articles a ON a.article_id = ae.article_id
        WHERE ae.entity_id = ANY(CAST(:entity_ids AS text[])) AND ae.in_original
    ) AS days
    GROUP BY day ORDER BY day DESC LIMIT :limit
    """
)


async def list_entities(
    conn: ReadConnection,
    *,
    q: str | None,
    entity_type: str | None,
    sort: EntitySort,
    limit: int,
    after: tuple[Any, str] | None = None,
) -> list[dict[str, Any]]:
    """Up to ``limit`` root entities, after ``after``; with ``q``, those with a name or surface form
    (theirs or a folded row's) having a word that starts with each word of ``q`` (any case)."""
    e = entities.c
    count = e.group_article_count
    conditions: list[ColumnElement[bool] | TextClause] = [e.canonical_id.is_(None)]
    if q is not None:
        conditions.append(_MATCHING_WORDS.bindparams(q=q))
    if entity_type is not None:
        conditions.append(e.type == entity_type)
    if sort == "-article_count":
        position, order = tuple_(count, e.id), (count.desc(), e.id.desc())
        if after is not None:
            conditions.append(position < tuple_(after[0], after[1]))
    else:
        position, order = tuple_(e.name, e.id), (e.name.asc(), e.id.asc())
        if after is not None:
            conditions.append(position > tuple_(after[0], after[1]))
    query = select(e.id, e.name, e.type, count.label("article_count")).where(*conditions).order_by(*order).limit(limit)
    return (await conn.execute(query)).mappings()


@dataclass
class EntityProfile:
    fields: dict[str, Any]
    co_occurring: list[dict[str, Any]]
    per_day: list[dict[str, Any]]


_FIND_ENTITY_SQL = (
    ROOTS_OF_VALUES_SQL
    + """
    SELECT t.id, t.name, t.type, r.group_article_count AS article_count, r.first_seen_at,
           ARRAY(SELECT m.id FROM entities m WHERE m.id = t.id OR m.canonical_id = t.id ORDER BY m.id) AS member_ids,
           ARRAY(
               SELECT DISTINCT form
               FROM entities m, unnest(m.aliases || CASE WHEN m.id = t.id THEN '{}' ELSE ARRAY[m.name] END) AS form
               WHERE m.id = t.id OR m.canonical_id = t.id
               ORDER BY form
           ) AS aliases
    FROM typed t JOIN entities r ON r.id = t.id
    ORDER BY (t.name = (CAST(%(values)s AS text[]))[1]) DESC, r.group_article_count DESC, t.id
    LIMIT 1
"""
)


async def find_entity(conn: ReadConnection, key: str) -> dict[str, Any] | None:
    """The root entity ``key`` names (id, name or surface form; several: the most mentioned), with its group."""
    row = (await conn.execute_driver_sql(_FIND_ENTITY_SQL, {"values": [key], "type": None})).first()
    return row.as_mapping() if row is not None else None


async def entity_profile(conn: ReadConnection, key: str) -> EntityProfile | None:
    fields = await find_entity(conn, key)
    if fields is None:
        return None
    params: dict[str, Sequence[str] | int] = {"entity_ids": fields["member_ids"]}
    co_occurring = (await conn.execute(_CO_OCCURRING, {**params, "limit": CO_OCCURRING_MAX})).mappings()
    per_day = (await conn.execute(_PER_DAY, {**params, "limit": PER_DAY_MAX_DAYS})).mappings()
    per_day.reverse()  # oldest first, as a chart reads
    return EntityProfile(fields=fields, co_occurring=co_occurring, per_day=per_day)
