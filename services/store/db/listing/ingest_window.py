"""Where the newest (or oldest) N articles of the archive begin, read off the planner's statistics.

A search for a common word, sorted by ingest time, had to take every match from the GIN index
and sort them (8,000 matches of "board" in 100k articles: 12-40 ms) to keep the newest page.
Given an ingest time before which (in the sort's direction) the page surely lies, Postgres ANDs
the GIN bitmap with the ingest-time index and visits only the window's matches (3 ms). Where the
window begins comes from the histogram of ``articles.ingested_at`` that ANALYZE keeps in
``pg_stats`` (1,000 buckets, migration 0004), refreshed here every few minutes: statistics, not
results. A window that holds too few matches is only slower (the caller then takes them all),
never wrong, so the histogram may be stale.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.store.db.listing.statistics_cache import CachedStatistics

_STATISTICS_SQL = b"""
    SELECT (SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = 'articles'::regclass),
           (SELECT histogram_bounds::text::timestamptz[] FROM pg_stats
            WHERE schemaname = current_schema() AND tablename = 'articles' AND attname = 'ingested_at')
"""


@dataclass
class IngestHistogram(CachedStatistics):
    """The archive's size and ingest-time quantiles as of the last ANALYZE (bounds ascending)."""

    archive: float = 0.0
    bounds: list[datetime] = field(default_factory=list)
    read_at: float = -math.inf
    statistics_sql = _STATISTICS_SQL

    def read(self, row: tuple[Any, ...] | None) -> None:
        self.archive = float(row[0]) if row and row[0] is not None else 0.0
        self.bounds = list(row[1]) if row and row[1] else []

    def window_edge(self, rows: float, *, descending: bool, after: datetime | None) -> datetime | None:
        """The ingest time within which the next ``rows`` articles (from ``after``, in the sort's direction) lie.

        None when the statistics cannot bound them (no histogram yet, or the window would reach
        the archive's far end): the caller then searches the whole archive.
        """
        buckets = len(self.bounds) - 1
        if buckets < 1 or self.archive <= 0:
            return None
        # Where the page starts, as a bucket position: the archive's end, or the cursor's bucket
        # (its bound on the page's side, so the rows counted are surely in the window).
        start = buckets if descending else 0
        if after is not None:
            cursor_bucket = bisect.bisect_left(self.bounds, after)  # bounds[i - 1] < after <= bounds[i]
            start = min(cursor_bucket - 1, buckets) if descending else cursor_bucket
        span = rows / self.archive * buckets
        if descending:
            edge = math.floor(start - span)  # rounded away from the start: more rows, never fewer
            return self.bounds[edge] if edge > 0 else None
        edge = math.ceil(start + span)
        return self.bounds[edge] if edge < buckets else None
