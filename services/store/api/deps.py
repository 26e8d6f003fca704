"""The read API's dependencies, defined once: a read-only database connection and the consumers' status."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection, Engine

from shared.consumer import LoopStatus


def get_connection(request: Request) -> Iterator[Connection]:
    """A pooled connection for one request; every statement on it runs as a read-only transaction."""
    engine: Engine = request.app.state.engine
    with engine.connect() as conn:
        yield conn


def open_connection(request: Request) -> Connection:
    """The same connection, for a sync route to open itself (``with open_connection(request) as conn``).

    A generator dependency costs two extra hops through the thread pool per request (enter and
    exit run there); the article listing, the busiest route, saves them this way.
    """
    engine: Engine = request.app.state.engine
    return engine.connect()


def get_consumer_statuses(request: Request) -> dict[str, LoopStatus]:
    """The status of each consumer loop this process runs (empty when the API runs without them)."""
    statuses: dict[str, LoopStatus] = request.app.state.consumer_statuses
    return statuses


DbConnection = Annotated[Connection, Depends(get_connection)]
ConsumerStatuses = Annotated[dict[str, LoopStatus], Depends(get_consumer_statuses)]
