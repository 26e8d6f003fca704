"""The ingest-time window a search sorted by ingest time reads (``db.listing.ingest_window``).

``window_edge`` is checked on a hand-built histogram of 10 buckets of 100 articles: the edge it
gives must hold at least the rows asked for between the page's start (the archive's end, or the
cursor) and the edge, whatever the articles' spread within a bucket, and be the nearest bound
that does. ``refresh`` is checked against the statistics ANALYZE writes on a real database.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest

from services.store.db.listing import statistics_cache
from services.store.db.listing.ingest_window import IngestHistogram
from services.store.db.listing.statistics_cache import REFRESH_SECONDS
from shared.db import libpq_url

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
BOUNDS = [T0 + timedelta(hours=i) for i in range(11)]  # 10 buckets of 100 rows each
PER_BUCKET = 100
INSIDE_BUCKET_5 = BOUNDS[5] + timedelta(minutes=30)  # strictly between bounds[5] and bounds[6]


def _histogram() -> IngestHistogram:
    return IngestHistogram(archive=1000.0, bounds=list(BOUNDS))


def _guaranteed_rows(edge: datetime, *, descending: bool, after: datetime | None) -> int:
    """The rows the histogram surely puts between the page's start and ``edge``: only whole buckets
    between them count (a bucket's rows may all lie on either side of a time within it)."""
    buckets = range(len(BOUNDS) - 1)  # bucket j: from BOUNDS[j] to BOUNDS[j + 1]
    if descending:
        start = BOUNDS[-1] if after is None else after
        return PER_BUCKET * sum(1 for j in buckets if BOUNDS[j] >= edge and BOUNDS[j + 1] <= start)
    start = BOUNDS[0] if after is None else after
    return PER_BUCKET * sum(1 for j in buckets if BOUNDS[j] >= start and BOUNDS[j + 1] <= edge)


def test_descending_from_the_end_takes_the_nearest_bound_holding_the_rows() -> None:
    edge = _histogram().window_edge(250, descending=True, after=None)
    assert edge == BOUNDS[7], "2.5 buckets asked: the window spans the 3 newest buckets"
    assert _guaranteed_rows(edge, descending=True, after=None) == 300
    assert _guaranteed_rows(BOUNDS[8], descending=True, after=None) < 250, "bounds[8] would hold too few"


def test_ascending_from_the_start_takes_the_nearest_bound_holding_the_rows() -> None:
    edge = _histogram().window_edge(250, descending=False, after=None)
    assert edge == BOUNDS[3], "2.5 buckets asked: the window spans the 3 oldest buckets"
    assert _guaranteed_rows(edge, descending=False, after=None) == 300
    assert _guaranteed_rows(BOUNDS[2], descending=False, after=None) < 250, "bounds[2] would hold too few"


def test_rows_of_whole_buckets_end_on_their_bound() -> None:
    histogram = _histogram()
    assert histogram.window_edge(300, descending=True, after=None) == BOUNDS[7]
    assert histogram.window_edge(300, descending=False, after=None) == BOUNDS[3]
    assert histogram.window_edge(0.5, descending=True, after=None) == BOUNDS[9]
    assert histogram.window_edge(0.5, descending=False, after=None) == BOUNDS[1]


@pytest.mark.parametrize(
    ("after", "descending", "expected"),
    [
        # Inside bucket 5, newest first: counted from bounds[5] (the bucket's rows may all be newer).
        (INSIDE_BUCKET_5, True, 2),
        # On bounds[6], newest first: counted from bounds[5] too (one bucket more than needed).
        (BOUNDS[6], True, 2),
        # Inside bucket 5, oldest first: counted from bounds[6] (the bucket's rows may all be older).
        (INSIDE_BUCKET_5, False, 9),
        # On bounds[6], oldest first: every row of bucket 6 on is after the cursor.
        (BOUNDS[6], False, 9),
    ],
)
def test_from_a_cursor_the_window_holds_the_rows_past_it(after: datetime, descending: bool, expected: int) -> None:
    edge = _histogram().window_edge(250, descending=descending, after=after)
    assert edge == BOUNDS[expected]
    assert (edge < after) if descending else (edge > after), "the edge lies past the cursor"
    assert _guaranteed_rows(edge, descending=descending, after=after) >= 250


@pytest.mark.parametrize("descending", [True, False])
def test_every_edge_holds_the_rows_asked_for(descending: bool) -> None:
    """Across cursors (none, on every bound, inside every bucket, outside the histogram) and sizes."""
    histogram = _histogram()
    cursors: list[datetime | None] = [None, BOUNDS[0] - timedelta(hours=1), BOUNDS[-1] + timedelta(hours=1)]
    cursors += BOUNDS + [bound + timedelta(minutes=17) for bound in BOUNDS[:-1]]
    checked = 0
    for after in cursors:
        for rows in (1, 99, 100, 101, 250, 499.5, 500, 801, 900, 1000, 5000):
            edge = histogram.window_edge(rows, descending=descending, after=after)
            if edge is None:
                continue
            checked += 1
            assert edge in BOUNDS
            assert _guaranteed_rows(edge, descending=descending, after=after) >= rows, (after, rows, edge)
    assert checked > 50, "most windows fit in the histogram"


def test_no_edge_when_the_window_reaches_the_far_end() -> None:
    histogram = _histogram()
    assert histogram.window_edge(900, descending=True, after=None) == BOUNDS[1]
    assert histogram.window_edge(901, descending=True, after=None) is None
    assert histogram.window_edge(900, descending=False, after=None) == BOUNDS[9]
    assert histogram.window_edge(901, descending=False, after=None) is None
    assert histogram.window_edge(5000, descending=True, after=None) is None
    # From a cursor in bucket 5: 400 rows lie surely below it (buckets 1-4 above bounds[1]), 400 above.
    assert histogram.window_edge(400, descending=True, after=INSIDE_BUCKET_5) == BOUNDS[1]
    assert histogram.window_edge(401, descending=True, after=INSIDE_BUCKET_5) is None
    assert histogram.window_edge(300, descending=False, after=INSIDE_BUCKET_5) == BOUNDS[9]
    assert histogram.window_edge(301, descending=False, after=INSIDE_BUCKET_5) is None
    # A cursor past the histogram's end in the sort's direction: nothing to bound.
    assert histogram.window_edge(1, descending=True, after=BOUNDS[0] - timedelta(hours=1)) is None
    assert histogram.window_edge(1, descending=False, after=BOUNDS[-1] + timedelta(hours=1)) is None


@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize(
    "histogram",
    [
        IngestHistogram(archive=1000.0, bounds=[]),
        IngestHistogram(archive=1000.0, bounds=[T0]),
        IngestHistogram(archive=0.0, bounds=list(BOUNDS)),
        IngestHistogram(),
    ],
    ids=["no bounds", "one bound", "empty archive", "never read"],
)
def test_no_edge_without_statistics(histogram: IngestHistogram, descending: bool) -> None:
    assert _histogram().window_edge(1, descending=descending, after=None) is not None, "the same ask, with stats"
    assert histogram.window_edge(1, descending=descending, after=None) is None
    assert histogram.window_edge(1, descending=descending, after=BOUNDS[5]) is None


# --- refresh, against ANALYZE's statistics ------------------------------------------------------------


class _CountingConnection:
    """A connection that counts the statements run through it."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn
        self.executed = 0

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        self.executed += 1
        return await self._conn.execute(*args, **kwargs)


def _ingest_times(database_url: str) -> list[datetime]:
    with psycopg.connect(libpq_url(database_url)) as conn:
        return [row[0] for row in conn.execute("SELECT ingested_at FROM articles ORDER BY ingested_at")]


def test_refresh_reads_the_statistics_at_most_every_refresh_seconds(
    seeded_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    times = _ingest_times(seeded_database_url)
    assert len(times) == 6 and len(set(times)) == 6, "the seeds are ingested a minute apart"
    clock = [1000.0]
    # The module's clock only (asyncio and psycopg keep the real one).
    monkeypatch.setattr(statistics_cache, "time", SimpleNamespace(monotonic=lambda: clock[0]))

    async def run() -> None:
        async with await psycopg.AsyncConnection.connect(libpq_url(seeded_database_url), autocommit=True) as raw:
            conn = _CountingConnection(raw)
            histogram = IngestHistogram()
            # The migration analysed the table while it was empty: no rows counted, no histogram.
            await histogram.refresh(conn)  # type: ignore[arg-type]
            assert conn.executed == 1
            assert histogram.archive == 0.0 and histogram.bounds == []
            assert histogram.window_edge(1, descending=True, after=None) is None

            with psycopg.connect(libpq_url(seeded_database_url), autocommit=True) as other:
                other.execute("ANALYZE articles")

            # Within REFRESH_SECONDS of the last read: the statistics are not read again.
            clock[0] += REFRESH_SECONDS - 1
            await histogram.refresh(conn)  # type: ignore[arg-type]
            assert conn.executed == 1
            assert histogram.archive == 0.0 and histogram.bounds == []

            clock[0] += 1  # REFRESH_SECONDS after the last read
            await histogram.refresh(conn)  # type: ignore[arg-type]
            assert conn.executed == 2
            assert histogram.archive == 6.0
            assert histogram.bounds == sorted(histogram.bounds)
            # Six distinct values, with up to 1,000 buckets: every value is a bound.
            assert histogram.bounds == times
            assert all(bound.tzinfo is not None for bound in histogram.bounds)
            assert histogram.read_at == clock[0]
            # Newest first, a window of the 2 newest of 6 ends at the 3rd newest's time.
            assert histogram.window_edge(2, descending=True, after=None) == times[3]

            clock[0] += REFRESH_SECONDS / 2
            await histogram.refresh(conn)  # type: ignore[arg-type]
            assert conn.executed == 2, "a second refresh within REFRESH_SECONDS does not query"
            assert histogram.bounds == times

    asyncio.run(run())
