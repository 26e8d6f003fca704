"""``/stats``: how big the archive is, how many files were rejected, and when it last grew."""

from __future__ import annotations

from fastapi import APIRouter

from services.api.deps import ReadDb
from services.api.schemas import ReasonCount, Stats
from services.store.db.queries.stats import dead_letters_by_reason, totals
from services.store.db.read_connection import ReadConnection

router = APIRouter(tags=["stats"])


@router.get(
    "/stats",
    response_model=Stats,
    summary="Archive statistics",
    description=(
        "Counts of articles, originals, reprints, entities and stories; rejected files (from the dead-letter "
        "topic, which the store records) and the latest ingest."
    ),
)
async def stats_route(db: ReadDb) -> Stats:
    return await db.read(_stats)


async def _stats(conn: ReadConnection) -> Stats:
    t = await totals(conn)
    return Stats(
        articles=t["articles"],
        originals=t["originals"],
        reprints=t["articles"] - t["originals"],
        entities=t["entities"],
        stories=t["stories"],
        rejected_files=t["rejected_files"],
        dead_letters=t["dead_letters"],
        dead_letters_by_reason=[
            ReasonCount(stage=r["stage"], reason=r["reason"], count=r["count"])
            for r in await dead_letters_by_reason(conn)
        ],
        last_ingested_at=t["last_ingested_at"],
        last_stored_at=t["last_stored_at"],
        last_dead_letter_at=t["last_dead_letter_at"],
    )
