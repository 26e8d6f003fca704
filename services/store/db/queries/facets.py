"""Counts of the articles a search matches, by value: the facets of ``GET /articles/facets``.

Every count is over the same set of articles ``GET /articles`` lists for the filters
(``listing.matching``): originals only unless ``include_duplicates``. An entity, a type, a
source or a story counts articles (an article naming an entity ten times counts once); ``day``
and ``hour`` count articles per time bucket of their publication date, or of their ingest time
when they have none (``undated_count`` says how many of a bucket's articles are such). Every
statement's text comes from constants and the filter registry; request values are bound.

Over many matches the facets are counted on a slice of them and scaled up, each count with its
95 % margin (``facet_sample``); ``count_facets`` without a sample target counts every match.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from services.store.db.listing.filters import ArticleFilters
from services.store.db.listing.matching import matching_condition, matching_values
from services.store.db.queries.facet_sample import NESTED_BITS, NESTED_COUNTS_SQL, PILOT, Sample, choose_sample
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
    # Counted on a sample: the 95 % margin of ``count``, in articles.
    margin: int | None = None


@dataclass(frozen=True)
class ValueCount:
    """A source, story or entity type and the matching articles that have it."""

    value: str
    count: int
    margin: int | None = None


@dataclass(frozen=True)
class BucketCount:
    """A time bucket (its start, UTC) and the matching articles in it; ``undated_count`` of them by ingest time."""

    start: datetime
    count: int
    undated_count: int
    margin: int | None = None


@dataclass(frozen=True)
class FacetAnswer:
    """The matches (or their estimate), each facet's counts, and the sample they were counted on (None: all)."""

    total: int
    counts: dict[Facet, FacetCounts]
    sample: Sample | None = None
    sampled: int = 0
    total_margin: int | None = None


FacetCounts = list[EntityCount] | list[ValueCount] | list[BucketCount]

# Values of equal counts in code point order, whatever the database's locale: the same answer
# (and the same top values under a limit) on every deployment. Applied to the grouped expression:
# ORDER BY cannot collate an output column's alias.
_BY_VALUE = 'COLLATE "C"'
# The matching articles, as the CTE ``m`` every count reads. Never materialized: a statement may
# read ``m`` more than once, each time under conditions of its own (``related``: the subject's
# slice, the total's slice), and inlined each reading takes its conditions to the indexes.
_MATCHED_SQL = """WITH m AS NOT MATERIALIZED (
  SELECT a.article_id, a.source, a.story_id, a.published_at, a.ingested_at, a.entity_ids
  FROM articles a
  WHERE {where}
)
"""
# The slice of a sample (facet_sample): ids below a bound, read from the primary key's index.
_SAMPLE_CONDITION = "a.article_id < %(sample_below)s"
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
# The pilot's slice and every finer one, in one pass over the pilot's matches.
_PILOT_SQL = f"SELECT count(*), {NESTED_COUNTS_SQL} FROM articles a WHERE {{where}}"
# An article's entities from its own id list (articles.entity_ids, the ids of its links), each
# folded into its root once per article: an article naming "Trump" and "Donald Trump" counts once.
# The aliases are the few rows with a canonical id, hashed once, so the fold is a lookup per id
# rather than an index probe per link; only the top counts' names are read (ties at the last
# place included, for the order by name). 67 ms against 134 for the join over the links, on a
# sample of 1,740 articles (38,000 ids).
ALIASES_SQL = "aliases AS MATERIALIZED (SELECT id, canonical_id FROM entities WHERE canonical_id IS NOT NULL)"


def named_roots_sql(articles: str) -> str:
    """Each (article, root entity it names) once, for ``articles`` (a relation with ``article_id``
    and ``entity_ids``), its ids folded through the CTE ``aliases`` (``ALIASES_SQL``)."""
    return f"""SELECT DISTINCT {articles}.article_id, coalesce(al.canonical_id, u.id) AS root
  FROM {articles} CROSS JOIN unnest({articles}.entity_ids) AS u(id) LEFT JOIN aliases al ON al.id = u.id"""


_ENTITY_SQL = f"""
, {ALIASES_SQL}
, named AS (
  {named_roots_sql("m")}
)
, counted AS (SELECT root, count(*) AS n FROM named GROUP BY root)
, last_place AS (SELECT n FROM counted ORDER BY n DESC LIMIT 1 OFFSET %(limit)s - 1)
SELECT r.id, r.name, r.type, c.n
FROM counted c JOIN entities r ON r.id = c.root
WHERE c.n >= coalesce((SELECT n FROM last_place), 0)
ORDER BY c.n DESC, r.name {_BY_VALUE}, r.id
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


def matched_sql(filters: ArticleFilters, statement: str, sample: Sample | None = None) -> bytes:
    """``statement`` over the CTE ``m`` of the articles the filters match (in ``sample``'s slice if given)."""
    return (_MATCHED_SQL.format(where=_where(filters, sample)) + statement).encode()


def _where(filters: ArticleFilters, sample: Sample | None) -> str:
    where = matching_condition(filters)
    return where if sample is None else f"{where}\n  AND {_SAMPLE_CONDITION}"


def _values(filters: ArticleFilters, sample: Sample | None, values: dict[str, Any]) -> dict[str, Any]:
    found = {**matching_values(filters), **values}
    if sample is not None:
        found["sample_below"] = sample.below
    return found


async def count_matching(conn: AsyncConnection, filters: ArticleFilters, sample: Sample | None = None) -> int:
    """How many articles the filters match (in ``sample``'s slice if given)."""
    sql = _TOTAL_SQL.format(where=_where(filters, sample)).encode()
    cursor = await conn.execute(sql, _values(filters, sample, {}))
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def count_entities(
    conn: AsyncConnection, filters: ArticleFilters, limit: int, sample: Sample | None = None
) -> list[EntityCount]:
    """The ``limit`` entities most matching articles name, most first (then by name)."""
    rows = await matched_rows(conn, filters, _ENTITY_SQL, {"limit": limit}, sample)
    return [EntityCount(id_, name, type_, *_scaled(n, sample)) for id_, name, type_, n in rows]


async def count_buckets(
    conn: AsyncConnection, filters: ArticleFilters, unit: str, limit: int | None, sample: Sample | None = None
) -> list[BucketCount]:
    """Matching articles per ``unit`` (hour, day, week): the latest ``limit`` buckets (all: None), in time order."""
    rows = await matched_rows(conn, filters, _BUCKETS_SQL, {"unit": unit, "limit": limit}, sample)
    return [BucketCount(start.replace(tzinfo=UTC), *_scaled_bucket(n, undated, sample)) for start, n, undated in rows]


async def count_values(
    conn: AsyncConnection, filters: ArticleFilters, facet: Facet, limit: int, sample: Sample | None = None
) -> list[ValueCount]:
    """A type, source or story facet: its ``limit`` values with the most matching articles (then by value)."""
    rows = await matched_rows(conn, filters, _VALUE_SQL[facet], {"limit": limit}, sample)
    return [ValueCount(value, *_scaled(n, sample)) for value, n in rows]


async def count_facet(
    conn: AsyncConnection, filters: ArticleFilters, facet: Facet, limit: int, sample: Sample | None = None
) -> FacetCounts:
    """One facet's counts: its ``limit`` values with the most matching articles (time buckets: the latest)."""
    if facet is Facet.entity:
        return await count_entities(conn, filters, limit, sample)
    if facet in _BUCKET_UNIT:
        return await count_buckets(conn, filters, _BUCKET_UNIT[facet], limit, sample)
    return await count_values(conn, filters, facet, limit, sample)


async def count_facets(
    conn: AsyncConnection,
    filters: ArticleFilters,
    facets: Sequence[Facet],
    limit: int,
    sample_target: int | None = None,
) -> FacetAnswer:
    """The number of matching articles, and each facet's counts (each facet once, in the order asked).

    With ``sample_target``, more than about twice that many matches are counted on a slice of
    them (``facet_sample``) and every count, the total too, is an estimate with its margin.
    """
    sample, found = await choose_facet_sample(conn, filters, sample_target)
    if found is None:
        found = await count_matching(conn, filters, sample)
    counts: dict[Facet, FacetCounts] = {}
    for facet in dict.fromkeys(facets):
        # Nothing matches: every facet is empty, no need to ask.
        counts[facet] = await count_facet(conn, filters, facet, limit, sample) if found else []
    if sample is None:
        return FacetAnswer(found, counts)
    return FacetAnswer(sample.estimate(found), counts, sample, found, sample.margin(found))


async def choose_facet_sample(
    conn: AsyncConnection, filters: ArticleFilters, sample_target: int | None
) -> tuple[Sample | None, int | None]:
    """The slice to count the filters' matches on (None: all), and its matches when the pilot counted them.

    No pilot without a target: every match is counted.
    """
    if sample_target is None:
        return None, None
    slices = await _count_pilot(conn, filters)
    sample = choose_sample(slices[PILOT.bits], sample_target)
    return sample, None if sample is None else slices.get(sample.bits)


async def _count_pilot(conn: AsyncConnection, filters: ArticleFilters) -> dict[int, int]:
    """The matching articles in the pilot's slice and in each finer one, by the slice's bits."""
    sql = _PILOT_SQL.format(where=_where(filters, PILOT)).encode()
    cursor = await conn.execute(sql, _values(filters, PILOT, {}))
    row = await cursor.fetchone()
    counts = list(row) if row else [0] * (1 + len(NESTED_BITS))
    return dict(zip((PILOT.bits, *NESTED_BITS), map(int, counts), strict=True))


def _scaled(n: int, sample: Sample | None) -> tuple[int, int | None]:
    """A count in the sample as (estimate, margin); an exact count as itself, no margin."""
    return (n, None) if sample is None else (sample.estimate(n), sample.margin(n))


def _scaled_bucket(n: int, undated: int, sample: Sample | None) -> tuple[int, int, int | None]:
    if sample is None:
        return n, undated, None
    return sample.estimate(n), sample.estimate(undated), sample.margin(n)


async def matched_rows(
    conn: AsyncConnection,
    filters: ArticleFilters,
    statement: str,
    values: dict[str, Any],
    sample: Sample | None = None,
) -> list[tuple[Any, ...]]:
    """``statement``'s rows over the matching articles ``m``, with the filters' values and ``values`` bound."""
    cursor = await conn.execute(matched_sql(filters, statement, sample), _values(filters, sample, values))
    return list(await cursor.fetchall())
