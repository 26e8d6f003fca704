"""The read API's dependencies, defined once: read-only database access and the consumers' status."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection, Engine

from services.store.db.listing import Listing
from services.store.db.reader import ReadPool
from shared.consumer import LoopStatus


def get_connection(request: Request) -> Iterator[Connection]:
    """A pooled connection for one request; every statement on it runs as a read-only transaction."""
    engine: Engine = request.app.state.engine
    with engine.connect() as conn:
        yield conn


def read_pool(request: Request) -> ReadPool:
    """The async pool the listing runs its SQL on (see ``services.store.db.reader``)."""
    pool: ReadPool = request.app.state.read_pool
    return pool


def article_listing(request: Request) -> Listing:
    """The app's listing executor, with its tuning and statistics (see ``services.store.db.listing``)."""
    listing: Listing = request.app.state.listing
    return listing


def get_consumer_statuses(request: Request) -> dict[str, LoopStatus]:
    """The status of each consumer loop this process runs (empty when the API runs without them)."""
    statuses: dict[str, LoopStatus] = request.app.state.consumer_statuses
    return statuses


DbConnection = Annotated[Connection, Depends(get_connection)]
ConsumerStatuses = Annotated[dict[str, LoopStatus], Depends(get_consumer_statuses)]
