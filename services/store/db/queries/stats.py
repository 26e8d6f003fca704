"""Read queries for the archive's vital signs (``/stats``) and the database probe behind ``/health``.

"Rejected files" are the distinct files (name and content hash) the ingest stage dead-lettered;
the store learns of them by consuming ``news.dlq.v1`` into ``dead_letters``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from services.store.db.read_connection import ReadConnection

_TOTALS = text(
    """
    SELECT
        (SELECT count(*) FROM articles) AS articles,
        (SELECT count(*) FROM articles WHERE duplicate_of IS NULL) AS originals,
        (SELECT count(*) FROM entities) AS entities,
        (SELECT count(DISTINCT story_id) FROM articles WHERE story_id IS NOT NULL) AS stories,
        (SELECT count(DISTINCT coalesce(source_file, '') || ':' || coalesce(sha256, ''))
           FROM dead_letters WHERE stage = 'ingest') AS rejected_files,
        (SELECT count(*) FROM dead_letters) AS dead_letters,
        (SELECT max(ingested_at) FROM articles) AS last_ingested_at,
        (SELECT max(stored_at) FROM articles) AS last_stored_at,
        (SELECT max(failed_at) FROM dead_letters) AS last_dead_letter_at
    """
)

# Counted as rejected_files above is: distinct files (name and content hash) of the ingest stage.
_REJECTED_FILES_BY_REASON = text(
    """
    SELECT reason, count(DISTINCT coalesce(source_file, '') || ':' || coalesce(sha256, '')) AS files
    FROM dead_letters WHERE stage = 'ingest' GROUP BY reason ORDER BY files DESC, reason
    """
)

_DEAD_LETTERS_BY_REASON = text(
    "SELECT stage, reason, count(*) AS count FROM dead_letters GROUP BY stage, reason ORDER BY stage, reason"
)


async def totals(conn: ReadConnection) -> dict[str, Any]:
    return (await conn.execute(_TOTALS)).one().as_mapping()


async def rejected_files_by_reason(conn: ReadConnection) -> dict[str, int]:
    """The files ``totals()`` counts as rejected, by reason (the dashboard's chart beside that tile)."""
    return {row.reason: int(row.files) for row in await conn.execute(_REJECTED_FILES_BY_REASON)}


async def dead_letters_by_reason(conn: ReadConnection) -> list[dict[str, Any]]:
    return (await conn.execute(_DEAD_LETTERS_BY_REASON)).mappings()


def database_answers(conn: Connection) -> bool:
    """The /health probe's question (on its own connection in a thread: see ``api.probe``)."""
    return conn.execute(text("SELECT 1")).scalar_one() == 1
