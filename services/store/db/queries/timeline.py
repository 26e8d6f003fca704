"""Matching articles per time bucket, zero-filled, optionally split by entity or source: ``GET /articles/timeline``.

The buckets are the facets' time buckets (``facets.BUCKET_START_SQL``: publication date, else
ingest time, ``undated_count`` saying how many), every bucket from the first to the last
non-empty one. A split counts, in each bucket, the articles of each of the ``limit`` values
with the most matching articles overall (the facet's own top values), zero included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from services.store.db.listing.filters import ArticleFilters
from services.store.db.queries.facets import (
    BUCKET_START_SQL,
    ENTITY_ROOT_SQL,
    SOURCE_KEY_SQL,
    BucketCount,
    EntityCount,
    Facet,
    ValueCount,
    choose_facet_sample,
    count_buckets,
    count_entities,
    count_values,
    matched_rows,
)
from services.store.db.read_connection import AsyncConnection


class Interval(StrEnum):
    hour = "hour"
    day = "day"
    week = "week"


class Split(StrEnum):
    entity = "entity"
    source = "source"


# date_trunc's weeks start on Monday; each step lands on the next bucket's start (UTC: no DST).
STEP: dict[Interval, timedelta] = {
    Interval.hour: timedelta(hours=1),
    Interval.day: timedelta(days=1),
    Interval.week: timedelta(weeks=1),
}
# A zero-filled answer is as long as its span, whatever the matches: an hourly timeline of an
# archive spanning ten years would be 87,600 buckets. 1,000 is 41 days by the hour, 2.7 years by
# the day, 19 years by the week.
MAX_TIMELINE_BUCKETS = 1000


class TooManyBuckets(Exception):
    """The matches span more buckets of the interval than one answer holds."""

    def __init__(self, buckets: int) -> None:
        super().__init__(f"{buckets} buckets, more than {MAX_TIMELINE_BUCKETS}")
        self.buckets = buckets


@dataclass(frozen=True)
class TimelineBucket:
    start: datetime
    count: int
    undated_count: int
    # With a split: each top value's articles in this bucket (entity id or source), zeros included.
    split: dict[str, int] | None = None


@dataclass(frozen=True)
class Timeline:
    total: int
    buckets: list[TimelineBucket]
    # With a split: its values, most matching articles first (as the facet lists them).
    values: list[EntityCount] | list[ValueCount] | None = None


# Each top root's articles per bucket, read off the articles' own entity ids (as the facets read
# them) through the rows of the roots' groups: 0.3 s for a common word's 36,000 matches, where the
# join over every link of every match took 3 s.
_ENTITY_SPLIT_SQL = f"""
, members AS MATERIALIZED (
  SELECT e.id, {ENTITY_ROOT_SQL} AS root FROM entities e
  WHERE e.id = ANY(%(split_values)s) OR e.canonical_id = ANY(%(split_values)s)
)
, named AS (
  SELECT DISTINCT m.article_id, mb.root, {BUCKET_START_SQL} AS start
  FROM m CROSS JOIN unnest(m.entity_ids) AS u(id) JOIN members mb ON mb.id = u.id
)
SELECT start, root, count(*) FROM named GROUP BY 1, 2
"""
_SOURCE_SPLIT_SQL = f"""
SELECT {BUCKET_START_SQL} AS start, {SOURCE_KEY_SQL} AS value, count(*)
FROM m
WHERE {SOURCE_KEY_SQL} = ANY(%(split_values)s)
GROUP BY 1, 2
"""


async def timeline(
    conn: AsyncConnection,
    filters: ArticleFilters,
    interval: Interval,
    by: Split | None = None,
    limit: int = 10,
    sample_target: int | None = None,
) -> Timeline:
    """Matching articles per ``interval``, zero-filled; split by ``by``'s top ``limit`` values when given.

    With ``sample_target``, the entities split by are the top of the entity facet as it is
    counted then (on a sample over many matches); the split's counts are exact either way.
    Raises ``TooManyBuckets`` when the first and last buckets are more than ``MAX_TIMELINE_BUCKETS`` apart.
    """
    counted = await count_buckets(conn, filters, interval.value, None)
    starts = _span(counted, STEP[interval])
    total = sum(bucket.count for bucket in counted)
    found = {bucket.start: bucket for bucket in counted}
    if by is None:
        return Timeline(total, [_bucket(found.get(start), start, None) for start in starts])
    values, keys, split = await _split(conn, filters, interval, by, limit, sample_target)
    buckets = [_bucket(found.get(start), start, {key: split.get((start, key), 0) for key in keys}) for start in starts]
    return Timeline(total, buckets, values)


def _span(counted: list[BucketCount], step: timedelta) -> list[datetime]:
    """Every bucket's start from the first counted to the last (none when nothing matched)."""
    if not counted:
        return []
    first, last = counted[0].start, counted[-1].start
    buckets = (last - first) // step + 1
    if buckets > MAX_TIMELINE_BUCKETS:
        raise TooManyBuckets(buckets)
    return [first + step * n for n in range(buckets)]


def _bucket(counted: BucketCount | None, start: datetime, split: dict[str, int] | None) -> TimelineBucket:
    if counted is None:
        return TimelineBucket(start, 0, 0, split)
    return TimelineBucket(start, counted.count, counted.undated_count, split)


async def _split(
    conn: AsyncConnection, filters: ArticleFilters, interval: Interval, by: Split, limit: int, sample_target: int | None
) -> tuple[list[EntityCount] | list[ValueCount], list[str], dict[tuple[datetime, str], int]]:
    """The split's top values, their keys in a bucket's split, and each (bucket, key)'s count."""
    if by is Split.entity:
        return await _split_by_entity(conn, filters, interval, limit, sample_target)
    values = await count_values(conn, filters, Facet.source, limit)
    keys = [value.value for value in values]
    # The query groups sources in any case; a bucket's split names them as the facet does.
    key_of = {key.lower(): key for key in keys}
    rows = await matched_rows(conn, filters, _SOURCE_SPLIT_SQL, {"unit": interval.value, "split_values": list(key_of)})
    return values, keys, {(start.replace(tzinfo=UTC), key_of[value]): n for start, value, n in rows}


async def _split_by_entity(
    conn: AsyncConnection, filters: ArticleFilters, interval: Interval, limit: int, sample_target: int | None
) -> tuple[list[EntityCount], list[str], dict[tuple[datetime, str], int]]:
    """The top entities (chosen as the entity facet counts them) and their exact articles per bucket.

    Each article is in one bucket, so a value's count is its buckets' sum: exact even when the
    facet that chose it was estimated. Values are given in the order of those exact counts.
    """
    # The entity facet alone: the timeline has counted the matches already.
    sample, _ = await choose_facet_sample(conn, filters, sample_target)
    chosen = await count_entities(conn, filters, limit, sample)
    keys = [entity.id for entity in chosen]
    rows = await matched_rows(conn, filters, _ENTITY_SPLIT_SQL, {"unit": interval.value, "split_values": keys})
    split = {(start.replace(tzinfo=UTC), root): n for start, root, n in rows}
    totals = {key: sum(n for (_, root), n in split.items() if root == key) for key in keys}
    values = sorted(
        (EntityCount(e.id, e.name, e.type, totals[e.id]) for e in chosen), key=lambda e: (-e.count, e.name, e.id)
    )
    return values, [entity.id for entity in values], split
