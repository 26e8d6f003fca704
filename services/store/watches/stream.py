"""Reading the feed for ``GET /stream``: the entries after a position that a watch matched, or that ad-hoc
filters match (decided by the same matcher, over the new entries only).

Feed rows commit in ``seq`` order (``services.store.watches.feed``), so "every matching entry after
``seq``" is the whole of what a client that saw ``seq`` has not seen: resuming there loses nothing
and repeats nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from services.store.watches.matching import match_articles
from services.store.watches.models import ARTICLE, BREAKING
from services.store.watches.schemas import WatchFilters

# Feed entries read per poll; a client far behind catches up in steps of this many.
PAGE_ENTRIES = 500


@dataclass(frozen=True)
class StreamEvent:
    seq: int
    kind: str
    payload: str


def feed_head(conn: Connection) -> int:
    """The newest feed position (0 when empty): where a client with no ``Last-Event-ID`` starts."""
    return int(conn.execute(text("SELECT coalesce(max(seq), 0) FROM watch_feed")).scalar_one())


def watch_exists(conn: Connection, watch_id: int) -> bool:
    return conn.execute(text("SELECT 1 FROM watches WHERE id = :id"), {"id": watch_id}).first() is not None


def watch_events(conn: Connection, watch_id: int, after: int) -> tuple[list[StreamEvent], int]:
    """The watch's matches after ``after``, and the position read up to."""
    rows = conn.execute(
        text(
            "SELECT f.seq, f.kind, f.payload FROM watch_matches m JOIN watch_feed f ON f.seq = m.seq "
            "WHERE m.watch_id = :watch AND m.seq > :after ORDER BY m.seq LIMIT :limit"
        ),
        {"watch": watch_id, "after": after, "limit": PAGE_ENTRIES},
    ).all()
    events = [StreamEvent(row.seq, row.kind, row.payload) for row in rows]
    return events, events[-1].seq if events else after


def filtered_events(
    conn: Connection, filters: WatchFilters, breaking: bool, after: int
) -> tuple[list[StreamEvent], int]:
    """The feed entries after ``after`` that ``filters`` match (and breaking stories if asked), and the
    position read up to (past entries that did not match)."""
    rows = conn.execute(
        text("SELECT seq, kind, article_id, payload FROM watch_feed WHERE seq > :after ORDER BY seq LIMIT :limit"),
        {"after": after, "limit": PAGE_ENTRIES},
    ).all()
    if not rows:
        return [], after
    articles = [row.article_id for row in rows if row.kind == ARTICLE]
    matched = set(match_articles(conn, articles, {0: filters}).get(0, ()))
    events = [
        StreamEvent(row.seq, row.kind, row.payload)
        for row in rows
        if (row.kind == ARTICLE and row.article_id in matched) or (row.kind == BREAKING and breaking)
    ]
    return events, rows[-1].seq
