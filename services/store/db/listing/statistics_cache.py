"""Planner statistics held in each API process, read again at most every REFRESH_SECONDS.

The listing sizes its windows from what ANALYZE keeps in ``pg_stats`` (the ingest-time
histogram, the search column's most common lexemes). ANALYZE changes them rarely, so they are
read once every few minutes, not per request; being statistics, not results, stale ones only
make a window too large or too small.
"""

from __future__ import annotations

import time
from typing import Any

from services.store.db.reader import AsyncConnection

REFRESH_SECONDS = 300.0


class CachedStatistics:
    """A subclass names its statement (``statistics_sql``, one row) and takes its row in ``read``."""

    statistics_sql: bytes = b""
    read_at: float

    async def refresh(self, conn: AsyncConnection) -> None:
        if time.monotonic() - self.read_at < REFRESH_SECONDS:
            return
        cursor = await conn.execute(self.statistics_sql, prepare=True)
        self.read(await cursor.fetchone())
        self.read_at = time.monotonic()

    def read(self, row: tuple[Any, ...] | None) -> None:
        raise NotImplementedError
