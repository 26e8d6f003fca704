"""Counts of the articles a search matches, by value: the facets of ``GET /articles/facets``.

Every count is over the same set of articles ``GET /articles`` lists for the filters
(``listing.matching``): originals only unless ``include_duplicates``. An entity, a type, a
source or a story counts articles (an article naming an entity ten times counts once); ``day``
and ``hour`` count articles per time bucket of their publication date, or of their ingest time
when they have none (``undated_count`` says how many of a bucket's articles are such). Every
statement's text comes from constants and the filter registry; request values are bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from services.store.db.listing.filters import ArticleFilters
from services.store.db.listing.matching import matching_condition, matching_values
from services.store.db.read_connection import AsyncConnection


class Facet(StrEnum):
    entity = "entity"
    type = "type"
    source = "source"
    story = "story"
    day = "day"
    hour = "hour"


@dataclass(frozen=True)
class EntityCount:
    """An entity (the root of its group, as /entities lists it) and the matching articles naming it."""

    id: str
    name: str
    type: str
    count: int


@dataclass(frozen=True)
class ValueCount:
    """A source, story or entity type and the matching articles that have it."""

    value: str
    count: int


@dataclass(frozen=True)
class BucketCount:
    """A time bucket (its start, UTC) and the matching articles in it; ``undated_count`` of them by ingest time."""

    start: datetime
    count: int
    undated_count: int


FacetCounts = list[EntityCount] | list[ValueCount] | list[BucketCount]

# Values of equal counts in code point order, whatever the database's locale: the same answer
# (and the same top values under a limit) on every deployment. Applied to the grouped expression:
# ORDER BY cannot collate an output column's alias.
_BY_VALUE = 'COLLATE "C"'
# The matching articles, as the CTE ``m`` every count reads.
_MATCHED_SQL = """WITH m AS (
  SELECT a.article_id, a.source, a.story_id, a.published_at, a.ingested_at
  FROM articles a
  WHERE {where}
)
"""
# The root entity a linked row is folded into (see db.entity_groups): facets count one entity once.
ENTITY_ROOT_SQL = "coalesce(e.canonical_id, e.id)"
# Sources are filtered in any case (filters.FILTERS), so they are counted in any case too: the
# facet's value, given back as ``source=``, then lists exactly the articles it counted.
SOURCE_KEY_SQL = "lower(m.source)"
# A bucket's start: published_at is a date, so a dated article sits at its day's midnight; an
# undated one at its ingest time (in UTC, as the rest of the API prints times). %(unit)s is
# date_trunc's field (hour, day, week), a bound value.
BUCKET_START_SQL = "date_trunc(%(unit)s, coalesce(m.published_at::timestamp, m.ingested_at AT TIME ZONE 'UTC'))"

_TOTAL_SQL = "SELECT count(*) FROM articles a WHERE {where}"
_ENTITY_SQL = f"""
SELECT r.id, r.name, r.type, count(DISTINCT ae.article_id) AS n
FROM m
JOIN article_entities ae ON ae.article_id = m.article_id
JOIN entities e ON e.id = ae.entity_id
JOIN entities r ON r.id = {ENTITY_ROOT_SQL}
GROUP BY r.id, r.name, r.type
ORDER BY n DESC, r.name {_BY_VALUE}, r.id
LIMIT %(limit)s
"""
# An article's links keep the type enrich gave the name in it: the one the ``type`` filter reads.
_TYPE_SQL = f"""
SELECT ae.entity_type AS value, count(DISTINCT ae.article_id) AS n
FROM m JOIN article_entities ae ON ae.article_id = m.article_id
GROUP BY ae.entity_type
ORDER BY n DESC, ae.entity_type {_BY_VALUE}
LIMIT %(limit)s
"""
# One spelling per source (the first in code point order) stands for all its spellings.
_SOURCE_SQL = f"""
SELECT min(m.source {_BY_VALUE}) AS value, count(*) AS n
FROM m WHERE m.source IS NOT NULL
GROUP BY {SOURCE_KEY_SQL}
ORDER BY n DESC, min(m.source {_BY_VALUE})
LIMIT %(limit)s
"""
_STORY_SQL = f"""
SELECT m.story_id AS value, count(*) AS n
FROM m WHERE m.story_id IS NOT NULL
GROUP BY m.story_id
ORDER BY n DESC, m.story_id {_BY_VALUE}
LIMIT %(limit)s
"""
# The latest %(limit)s buckets (every one when the limit is NULL), in time order.
_BUCKETS_SQL = f"""
SELECT b.start, b.n, b.undated FROM (
  SELECT {BUCKET_START_SQL} AS start, count(*) AS n, count(*) FILTER (WHERE m.published_at IS NULL) AS undated
  FROM m
  GROUP BY 1
  ORDER BY 1 DESC
  LIMIT %(limit)s
) AS b
ORDER BY b.start
"""
_VALUE_SQL: dict[Facet, str] = {Facet.type: _TYPE_SQL, Facet.source: _SOURCE_SQL, Facet.story: _STORY_SQL}
_BUCKET_UNIT: dict[Facet, str] = {Facet.day: "day", Facet.hour: "hour"}


def matched_sql(filters: ArticleFilters, statement: str) -> bytes:
    """``statement`` over the CTE ``m`` of the articles the filters match."""
    return (_MATCHED_SQL.format(where=matching_condition(filters)) + statement).encode()


async def count_matching(conn: AsyncConnection, filters: ArticleFilters) -> int:
    """How many articles the filters match."""
    sql = _TOTAL_SQL.format(where=matching_condition(filters)).encode()
    cursor = await conn.execute(sql, matching_values(filters))
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def count_entities(conn: AsyncConnection, filters: ArticleFilters, limit: int) -> list[EntityCount]:
    """The ``limit`` entities most matching articles name, most first (then by name)."""
    rows = await matched_rows(conn, filters, _ENTITY_SQL, {"limit": limit})
    return [EntityCount(id=id_, name=name, type=type_, count=n) for id_, name, type_, n in rows]


async def count_buckets(
    conn: AsyncConnection, filters: ArticleFilters, unit: str, limit: int | None
) -> list[BucketCount]:
    """Matching articles per ``unit`` (hour, day, week): the latest ``limit`` buckets (all: None), in time order."""
    rows = await matched_rows(conn, filters, _BUCKETS_SQL, {"unit": unit, "limit": limit})
    return [BucketCount(start=start.replace(tzinfo=UTC), count=n, undated_count=undated) for start, n, undated in rows]


async def count_facet(conn: AsyncConnection, filters: ArticleFilters, facet: Facet, limit: int) -> FacetCounts:
    """One facet's counts: its ``limit`` values with the most matching articles (time buckets: the latest)."""
    if facet is Facet.entity:
        return await count_entities(conn, filters, limit)
    if facet in _BUCKET_UNIT:
        return await count_buckets(conn, filters, _BUCKET_UNIT[facet], limit)
    return await count_values(conn, filters, facet, limit)


async def count_values(conn: AsyncConnection, filters: ArticleFilters, facet: Facet, limit: int) -> list[ValueCount]:
    """A type, source or story facet: its ``limit`` values with the most matching articles (then by value)."""
    rows = await matched_rows(conn, filters, _VALUE_SQL[facet], {"limit": limit})
    return [ValueCount(value=value, count=n) for value, n in rows]


async def count_facets(
    conn: AsyncConnection, filters: ArticleFilters, facets: Sequence[Facet], limit: int
) -> tuple[int, dict[Facet, FacetCounts]]:
    """The number of matching articles, and each facet's counts (each facet once, in the order asked)."""
    total = await count_matching(conn, filters)
    counts: dict[Facet, FacetCounts] = {}
    for facet in dict.fromkeys(facets):
        # Nothing matches: every facet is empty, no need to ask.
        counts[facet] = await count_facet(conn, filters, facet, limit) if total else []
    return total, counts


async def matched_rows(
    conn: AsyncConnection, filters: ArticleFilters, statement: str, values: dict[str, Any]
) -> list[tuple[Any, ...]]:
    """``statement``'s rows over the matching articles ``m``, with the filters' values and ``values`` bound."""
    cursor = await conn.execute(matched_sql(filters, statement), {**matching_values(filters), **values})
    return list(await cursor.fetchall())
