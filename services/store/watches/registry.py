"""Watches in Postgres: create, read, replace and delete them, with their match and delivery counts.

Queries only; the routes (``services.api.routes.watches``) turn them into HTTP.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import Connection, RowMapping, text

from services.store.watches.schemas import DeliveryCounts, WatchIn, WatchOut

# 32 random bytes, URL-safe: the webhook signing key.
SECRET_BYTES = 32

_COLUMNS = (
    "w.id, w.name, w.q, w.entities, w.entity_type, w.sources, w.story, w.include_duplicates, "
    "w.breaking, w.webhook_url, w.secret, w.created_at, w.updated_at"
)
_COUNTS = """
    (SELECT count(*) FROM watch_matches m WHERE m.watch_id = w.id) AS matches,
    (SELECT count(*) FROM watch_matches m WHERE m.watch_id = w.id AND m.delivery_state = 'pending') AS pending,
    (SELECT count(*) FROM watch_matches m WHERE m.watch_id = w.id AND m.delivery_state = 'delivered') AS delivered,
    (SELECT count(*) FROM watch_matches m WHERE m.watch_id = w.id AND m.delivery_state = 'failed') AS failed,
    last.last_error, last.last_error_at
"""
_LAST_ERROR = """
    LEFT JOIN LATERAL (
        SELECT m.last_error, m.last_attempt_at AS last_error_at FROM watch_matches m
        WHERE m.watch_id = w.id AND m.last_error IS NOT NULL
        ORDER BY m.last_attempt_at DESC, m.seq DESC LIMIT 1
    ) AS last ON TRUE
"""
_SELECT = f"SELECT {_COLUMNS}, {_COUNTS} FROM watches w {_LAST_ERROR}"


def _values(watch: WatchIn) -> dict[str, Any]:
    return {
        "name": watch.name,
        "q": watch.q,
        "entities": list(watch.entity),
        "entity_type": watch.entity_type,
        "sources": list(watch.source),
        "story": watch.story,
        "include_duplicates": watch.include_duplicates,
        "breaking": watch.breaking,
        "webhook_url": watch.webhook_url,
    }


def _out(row: RowMapping) -> WatchOut:
    deliveries = None
    if row["webhook_url"] is not None or row["pending"] or row["delivered"] or row["failed"]:
        deliveries = DeliveryCounts(
            pending=row["pending"],
            delivered=row["delivered"],
            failed=row["failed"],
            last_error=row["last_error"],
            last_error_at=row["last_error_at"],
        )
    return WatchOut(
        id=row["id"],
        name=row["name"],
        q=row["q"],
        entity=row["entities"],
        entity_type=row["entity_type"],
        source=row["sources"],
        story=row["story"],
        include_duplicates=row["include_duplicates"],
        breaking=row["breaking"],
        webhook_url=row["webhook_url"],
        secret=row["secret"],
        matches=row["matches"],
        deliveries=deliveries,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def create_watch(conn: Connection, watch: WatchIn) -> WatchOut:
    watch_id = conn.execute(
        text(
            "INSERT INTO watches (name, q, entities, entity_type, sources, story, include_duplicates, breaking, "
            "webhook_url, secret) VALUES (:name, :q, :entities, :entity_type, :sources, :story, "
            ":include_duplicates, :breaking, :webhook_url, :secret) RETURNING id"
        ),
        {**_values(watch), "secret": secrets.token_urlsafe(SECRET_BYTES)},
    ).scalar_one()
    found = get_watch(conn, watch_id)
    assert found is not None  # inserted in this transaction
    return found


def get_watch(conn: Connection, watch_id: int) -> WatchOut | None:
    row = conn.execute(text(f"{_SELECT} WHERE w.id = :id"), {"id": watch_id}).mappings().first()
    return _out(row) if row is not None else None


def list_watches(conn: Connection) -> list[WatchOut]:
    return [_out(row) for row in conn.execute(text(f"{_SELECT} ORDER BY w.id")).mappings()]


def replace_watch(conn: Connection, watch_id: int, watch: WatchIn) -> WatchOut | None:
    """Change a watch (from its next match on: past matches and deliveries stay as they were)."""
    updated = conn.execute(
        text(
            "UPDATE watches SET name = :name, q = :q, entities = :entities, entity_type = :entity_type, "
            "sources = :sources, story = :story, include_duplicates = :include_duplicates, breaking = :breaking, "
            "webhook_url = :webhook_url, updated_at = now() WHERE id = :id"
        ),
        {**_values(watch), "id": watch_id},
    ).rowcount
    return get_watch(conn, watch_id) if updated else None


def delete_watch(conn: Connection, watch_id: int) -> bool:
    """Delete a watch with its matches and pending deliveries."""
    return bool(conn.execute(text("DELETE FROM watches WHERE id = :id"), {"id": watch_id}).rowcount)
