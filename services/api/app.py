"""The read API's app factory: routers, error handling, request metrics and the read-only engine.

Tests build it with a migrated database and no Kafka (``create_app(settings)``); ``newsflow api``
(``services.api.main``) serves it under uvicorn. It holds no consumer: ``/health`` reads the
store's consumers' states from the store's metrics (``services.api.consumers``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine

from services.api.auth import ApiKeyMiddleware, document_keys
from services.api.dashboard.sampler import Sampler
from services.api.errors import install_error_handlers
from services.api.head import HeadAsGetMiddleware
from services.api.observability import RequestMetricsMiddleware
from services.api.routes import (
    article_counts,
    articles,
    dashboard,
    docs,
    entities,
    health,
    metrics,
    stats,
    stories,
    stream,
    watches,
)
from services.api.schemas import ErrorMessage
from services.store.db.listing import Listing, ListingTuning
from services.store.db.reader import ReadPool
from services.store.db.session import make_reader_engine
from shared.config import Settings

API_TITLE = "newsflow read API"
API_VERSION = "1.0.0"
API_DESCRIPTION = (
    "One clean, searchable, de-duplicated, entity-tagged record of each news story. Read-only but for "
    "/watches (saved searches, written with DATABASE_URL's role): the rest can run on a database role that "
    "can only read (NEWSFLOW_API_DATABASE_URL). Every GET "
    "route also answers HEAD (the same status and headers, no body)."
)


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    listing_tuning: ListingTuning | None = None,
) -> FastAPI:
    """The FastAPI app; it owns (and disposes of) its read-only engine unless one is passed in.

    ``listing_tuning``: the listing planner's thresholds (defaults: the measured ones).
    """
    owned = engine is None
    reader = engine if engine is not None else make_reader_engine(settings)
    read_pool = ReadPool(settings)
    watch_writer = watches.WatchWriter(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await read_pool.close()
            watch_writer.dispose()
            if owned:
                reader.dispose()

    app = FastAPI(
        title=API_TITLE,
        version=API_VERSION,
        description=API_DESCRIPTION,
        lifespan=lifespan,
        # Served by routes.docs from files the app ships (FastAPI's own pages load from a CDN).
        docs_url=None,
        redoc_url=None,
        responses={503: {"model": ErrorMessage, "description": "The database is unavailable or too slow; retry."}},
    )
    app.state.engine = reader
    app.state.read_pool = read_pool
    app.state.watch_writer = watch_writer
    # The listing's planner statistics belong to this app (it serves one database), not to the module.
    app.state.listing = Listing(listing_tuning)
    app.state.facet_sample_articles = settings.facet_sample_articles
    install_error_handlers(app)
    if settings.api_keys:
        # Inside the metrics middleware: refused requests are counted (status 401) like any other.
        app.add_middleware(ApiKeyMiddleware, keys=settings.api_keys)
        _document_api_keys(app)
    app.add_middleware(RequestMetricsMiddleware)
    app.add_middleware(HeadAsGetMiddleware)  # added last: outermost, so the metrics count it as the GET it is
    # article_counts before articles: /articles/facets is not the article with id "facets".
    for module in (health, article_counts, articles, entities, stories, stats, metrics, docs):
        app.include_router(module.router)
    # One sampler of every service's metrics: the dashboard charts it, /health reads the store's consumers
    # and ingest's quarantine from it.
    app.state.sampler = Sampler(settings)
    app.include_router(dashboard.make_router(settings, app.state.sampler))
    app.include_router(watches.make_router(settings))
    app.include_router(stream.make_router(settings))
    return app


def _document_api_keys(app: FastAPI) -> None:
    """The OpenAPI document says which routes need a key, and how to send it."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_keys(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
