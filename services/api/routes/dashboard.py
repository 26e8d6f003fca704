"""``/dashboard``: the pipeline's health on one page, live, with no Prometheus needed.

``/dashboard`` is a static page (Chart.js, served from ``../static`` like the page's own scripts,
so it works offline) that polls ``/dashboard/data`` every few seconds; its search panel draws
``GET /articles/timeline`` for a search typed into it (``timeline.js``, in the browser alone). The data route combines
the sampler's figures (every service's metrics endpoint, read by this process) with the
archive's totals, latest articles, top entities and biggest stories from the database. The database part is
optional: when the database is down the page still shows the metrics, and says why the rest is
missing. None of these routes is in the OpenAPI document (they are a page, not the API).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from functools import partial
from pathlib import Path

import psycopg
from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse
from psycopg_pool import PoolTimeout
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from services.api.dashboard.attention import pipeline_attention
from services.api.dashboard.figures import Charts, WindowTotals
from services.api.dashboard.queries import (
    TOP_ENTITIES_SINCE_HOURS,
    TOP_STORIES_SINCE_HOURS,
    LatestArticle,
    TopEntity,
    TopStory,
    biggest_stories,
    latest_articles,
    top_entities,
)
from services.api.dashboard.sampler import Sampler
from services.api.deps import ReadDb
from services.store.db.queries.stats import rejected_files_by_reason, totals
from services.store.db.read_connection import ReadConnection
from services.store.watches.breaking import BreakingMarker, recent_breaking
from shared.config import Settings
from shared.events import utcnow

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
# The only files served from STATIC_DIR, with their media types (no directory listing, no traversal).
ASSETS = {
    "chart.umd.min.js": "text/javascript",
    "dashboard.js": "text/javascript",
    "timeline.js": "text/javascript",
    "dashboard.css": "text/css",
}
ASSET_CACHE_SECONDS = 300


class ServiceStatus(BaseModel):
    service: str
    address: str
    up: bool
    error: str | None = None


class ArchiveTotals(BaseModel):
    articles: int
    originals: int
    reprints: int
    entities: int
    rejected_files: int
    # The same rejected files by reason (a file whose bad records had two reasons is under both).
    rejected_by_reason: dict[str, int] = {}
    dead_letters: int
    last_stored_at: datetime | None


class DashboardData(BaseModel):
    generated_at: datetime
    refresh_seconds: float
    services: list[ServiceStatus]
    charts: Charts
    window: WindowTotals
    archive: ArchiveTotals | None
    latest_articles: list[LatestArticle]
    top_entities: list[TopEntity]
    top_entities_hours: int
    top_stories: list[TopStory] = []
    top_stories_hours: int = TOP_STORIES_SINCE_HOURS
    # Stories that fired story.breaking within the same hours (marked in the stories table, listed apart).
    breaking_stories: list[BreakingMarker] = []
    # What needs a person although every service runs (stuck or quarantined files): /health says the same.
    attention: list[str] = []
    # Whether the charts' history survives a restart of the API (kept in the data dir).
    history_kept: bool = False
    database_error: str | None = None


def make_router(settings: Settings, sampler: Sampler | None = None) -> APIRouter:
    """The dashboard's routes, with a sampler that runs for as long as the app does."""
    sampler = sampler or Sampler(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        sampler.start()
        try:
            yield
        finally:
            sampler.stop()

    router = APIRouter(lifespan=lifespan, include_in_schema=False)

    @router.get("/dashboard", response_class=HTMLResponse)
    def dashboard_page() -> FileResponse:
        return FileResponse(
            STATIC_DIR / "dashboard.html", media_type="text/html", headers={"Cache-Control": "no-cache"}
        )

    @router.get("/dashboard/assets/{name}")
    def dashboard_asset(name: str) -> FileResponse:
        media_type = ASSETS.get(name)
        if media_type is None:
            raise HTTPException(404, f"No dashboard asset {name!r}; the page uses {', '.join(sorted(ASSETS))}.")
        return FileResponse(
            STATIC_DIR / name, media_type=media_type, headers={"Cache-Control": f"max-age={ASSET_CACHE_SECONDS}"}
        )

    @router.get("/dashboard/data", response_model=DashboardData)
    async def dashboard_data(db: ReadDb) -> DashboardData:
        # Scraping the services' metrics blocks: off the event loop.
        await run_in_threadpool(sampler.sample_if_due)
        charts, window, statuses = sampler.view()
        data = DashboardData(
            generated_at=utcnow(),
            refresh_seconds=sampler.interval_seconds,
            services=[ServiceStatus(**vars(status)) for status in statuses],
            charts=charts,
            window=window,
            archive=None,
            latest_articles=[],
            top_entities=[],
            top_entities_hours=TOP_ENTITIES_SINCE_HOURS,
            attention=pipeline_attention(sampler),
            history_kept=sampler.history_kept,
        )
        try:
            await db.read(partial(_archive_figures, data))
        except psycopg.Error as exc:
            # The page is public to whoever reaches it: the database's own words (host names, roles,
            # SQL) go to the log only, under a reference the page shows. A pool that got no
            # connection says only that: the log names the server it could not reach.
            reference = uuid.uuid4().hex[:12]
            detail = str(exc).strip().splitlines()
            error = detail[0] if detail else type(exc).__name__
            if isinstance(exc, PoolTimeout):
                error = f"{error} (server {db.server})"
            log.warning("dashboard: database unavailable", extra={"reference": reference, "error": error})
            data.database_error = (
                f"The archive's database is unavailable right now; the API's log says why (reference {reference})."
            )
        return data

    return router


async def _archive_figures(data: DashboardData, conn: ReadConnection) -> None:
    t = await totals(conn)
    data.archive = ArchiveTotals(
        articles=t["articles"],
        originals=t["originals"],
        reprints=t["articles"] - t["originals"],
        entities=t["entities"],
        rejected_files=t["rejected_files"],
        rejected_by_reason=await rejected_files_by_reason(conn),
        dead_letters=t["dead_letters"],
        last_stored_at=t["last_stored_at"],
    )
    data.latest_articles = await latest_articles(conn)
    data.top_entities = await top_entities(conn)
    data.top_stories = await biggest_stories(conn)
    data.breaking_stories = await recent_breaking(conn, TOP_STORIES_SINCE_HOURS)
