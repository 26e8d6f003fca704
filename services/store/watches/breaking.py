"""Reading the breaking stories back: the dashboard's marker (the detection itself is in ``feed``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import Connection, text

from shared.events import utcnow

RECENT_BREAKING_LIMIT = 10


class BreakingMarker(BaseModel):
    story_id: str
    sources: int
    fired_at: datetime


def recent_breaking(conn: Connection, hours: int, limit: int = RECENT_BREAKING_LIMIT) -> list[BreakingMarker]:
    """The stories that became breaking in the last ``hours``, newest first."""
    rows = conn.execute(
        text(
            "SELECT story_id, sources, fired_at FROM breaking_stories WHERE fired_at >= :since "
            "ORDER BY fired_at DESC, story_id LIMIT :limit"
        ),
        {"since": utcnow() - timedelta(hours=hours), "limit": limit},
    ).mappings()
    return [BreakingMarker(**row) for row in rows]
