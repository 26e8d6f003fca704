"""The store's two engines: the writer's (consumers) and the read API's (read-only), with their timeouts.

Both come from ``shared.db.make_engine``; this module adds the per-connection limits that keep a
stalled server or a held lock from hanging a consumer or piling up API requests.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event

from shared.config import Settings
from shared.db import make_engine

# How long the API waits for a pooled connection before answering 503 instead of queueing.
API_POOL_TIMEOUT_SECONDS = 5.0
API_POOL_SIZE = 10
API_POOL_OVERFLOW = 10
WRITER_POOL_SIZE = 2
# How the read API's connections name themselves to Postgres (both its engine and its async pool).
API_APPLICATION_NAME = "newsflow-api"


def session_settings(statement_timeout_ms: int, *, read_api: bool = False) -> list[str]:
    """The SET statements every new connection runs: a statement and lock timeout (server-side, so a
    stall is detected) and, for the read API, limits on how its queries are planned.

    The read API's connections never let psycopg prepare statements by itself (``prepare_threshold``
    None): each statement is then planned with its values, because the best plan depends on them
    (a rare entity or a common one, a rare word or a common one; a value-blind generic plan was 3x
    slower, measured). The few statements whose plan is fixed by their shape are prepared
    explicitly (``prepare=True`` in ``db.queries``), and Postgres reuses their plan.
    """
    timeout = int(statement_timeout_ms)
    statements = [
        f"SET statement_timeout = {timeout}",
        f"SET lock_timeout = {timeout}",
        # A writer that dies mid-transaction must not hold its row locks for long.
        f"SET idle_in_transaction_session_timeout = {timeout * 2}",
    ]
    if read_api:
        statements += [
            # JIT compiling a costly plan (ranking thousands of matches) adds 100+ ms per request.
            "SET jit = off",
            # Parallel workers for one request take cores that other requests need: on 100k
            # articles a parallel listing plan ran 10x slower under load than a serial one.
            "SET max_parallel_workers_per_gather = 0",
        ]
    return statements


def _configure_connections(engine: Engine, statement_timeout_ms: int, *, read_api: bool = False) -> None:
    """Every new connection of ``engine`` runs ``session_settings``."""
    statements = session_settings(statement_timeout_ms, read_api=read_api)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        dbapi_connection.commit()
        if read_api:
            # psycopg would otherwise prepare a statement run five times and reuse its generic plan.
            dbapi_connection.prepare_threshold = None


def make_writer_engine(settings: Settings) -> Engine:
    """The consumers' engine: read-write, on ``DATABASE_URL``."""
    engine = make_engine(
        settings.require_database(),
        application_name="newsflow-store",
        pool_size=WRITER_POOL_SIZE,
        max_overflow=0,
    )
    _configure_connections(engine, settings.db_statement_timeout_ms)
    return engine


def make_reader_engine(settings: Settings) -> Engine:
    """The read API's engine: every transaction read-only, on ``NEWSFLOW_API_DATABASE_URL`` if set."""
    url = settings.api_database_url or settings.require_database()
    engine = make_engine(
        url,
        read_only=True,
        application_name=API_APPLICATION_NAME,
        pool_size=API_POOL_SIZE,
        max_overflow=API_POOL_OVERFLOW,
        pool_timeout=API_POOL_TIMEOUT_SECONDS,
        # Each statement is its own (read-only) transaction: no BEGIN and ROLLBACK round trips around
        # every request (two of a listing's four). The routes that read more than once (a full
        # record, /stats) tolerate a commit landing between their statements: the archive only grows.
        isolation_level="AUTOCOMMIT",
    )
    _configure_connections(engine, settings.api_statement_timeout_ms, read_api=True)
    return engine
