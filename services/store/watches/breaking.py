"""Reading the breaking stories back: the dashboard's marker (the detection itself is in ``feed``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import text

from services.store.db.read_connection import ReadConnection
from shared.events import utcnow

RECENT_BREAKING_LIMIT = 10


class BreakingMarker(BaseModel):
    story_id: str
    sources: int
    fired_at: datetime


async def recent_breaking(conn: ReadConnection, hours: int, limit: int = RECENT_BREAKING_LIMIT) -> list[BreakingMarker]:
    """The stories that became breaking in the last ``hours``, newest first."""
    rows = (
        await conn.execute(
            text(
                "SELECT story_id, sources, fired_at FROM breaking_stories WHERE fired_at >= :since "
                "ORDER BY fired_at DESC, story_id LIMIT :limit"
            ),
            {"since": utcnow() - timedelta(hours=hours), "limit": limit},
        )
    ).mappings()
    return [BreakingMarker(**row) for row in rows]
