"""The read API's dependencies, defined once: a read-only database connection and the consumers' status."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection, Engine

from shared.consumer import LoopStatus


def get_connection(request: Request) -> Iterator[Connection]:
    """A pooled connection for one request; its transaction is read-only and rolled back at the end."""
    engine: Engine = request.app.state.engine
    with engine.connect() as conn:
        yield conn


def get_consumer_statuses(request: Request) -> dict[str, LoopStatus]:
    """The status of each consumer loop this process runs (empty when the API runs without them)."""
    statuses: dict[str, LoopStatus] = request.app.state.consumer_statuses
    return statuses


DbConnection = Annotated[Connection, Depends(get_connection)]
ConsumerStatuses = Annotated[dict[str, LoopStatus], Depends(get_consumer_statuses)]
