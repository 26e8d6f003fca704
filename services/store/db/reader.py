"""The read API's asynchronous connection pool (psycopg), for the routes that answer most requests.

The article listing is what analysts and dashboards call all day; run through SQLAlchemy in the
thread pool it spent more CPU per request in Python than Postgres spent answering it (measured
in ``bench/api.py``). These routes run their SQL on this pool from the event loop instead; the
other routes keep the SQLAlchemy reader engine. Both connect the same way: read-only, the same
role (``NEWSFLOW_API_DATABASE_URL`` if set), the same session settings.

There is no ping before each use (it would be one more round trip per request): a connection
that broke while idle (a restarted server) fails its first statement, and the work is run once
more on a fresh connection. The listing only reads, so running it twice is harmless.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import psycopg
from psycopg_pool import AsyncConnectionPool

from services.store.db.read_connection import AsyncConnection, ReadConnection
from services.store.db.session import (
    API_APPLICATION_NAME,
    API_POOL_SIZE,
    API_POOL_TIMEOUT_SECONDS,
    session_settings,
)
from shared.config import Settings
from shared.db import connect_args, libpq_url

log = logging.getLogger(__name__)

T = TypeVar("T")

# Connections opened when the pool opens; more are opened on demand up to API_POOL_SIZE.
POOL_MIN_CONNECTIONS = 2


class ReadPool:
    """A pool of read-only autocommit connections, opened lazily within the event loop that uses it.

    An asyncio pool belongs to one event loop. The server runs one loop for its lifetime; test
    clients start a loop (and the app's lifespan) per client or even per request, so a pool is
    opened for the loop at hand and forgotten when closed.
    """

    def __init__(self, settings: Settings) -> None:
        self._conninfo = libpq_url(settings.api_database_url or settings.require_database())
        info = psycopg.conninfo.conninfo_to_dict(self._conninfo)
        # Where the pool connects (for logs: the password is never part of it).
        self.server = f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"
        self._statements = session_settings(settings.api_statement_timeout_ms, read_api=True)
        self._pool: AsyncConnectionPool[AsyncConnection] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def _configure(self, conn: AsyncConnection) -> None:
        for statement in self._statements:
            await conn.execute(statement.encode())

    async def _current(self) -> AsyncConnectionPool[AsyncConnection]:
        loop = asyncio.get_running_loop()
        if self._pool is None or self._loop is not loop:
            pool: AsyncConnectionPool[AsyncConnection] = AsyncConnectionPool(
                self._conninfo,
                min_size=POOL_MIN_CONNECTIONS,
                max_size=API_POOL_SIZE,
                timeout=API_POOL_TIMEOUT_SECONDS,
                open=False,
                configure=self._configure,
                kwargs={
                    "autocommit": True,
                    # Only the statements marked prepare=True are prepared (see session_settings).
                    "prepare_threshold": None,
                    **connect_args(application_name=API_APPLICATION_NAME, read_only=True),
                },
            )
            # Not waiting for the first connections: with the database down the API must still
            # answer, with 503 (PoolTimeout), until it is back.
            await pool.open(wait=False)
            self._pool, self._loop = pool, loop
        return self._pool

    async def run(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """``work`` on a pooled connection; once more on a fresh one if that connection was broken."""
        pool = await self._current()
        for attempt in (1, 2):
            async with pool.connection() as conn:
                try:
                    return await work(conn)
                except psycopg.OperationalError:
                    # A broken connection (closed by the server or the network) is retried once;
                    # a timeout or a refused query on a live connection is the answer.
                    if attempt == 2 or not conn.broken:
                        raise
                    log.warning("a pooled read connection was broken; retrying on a fresh one")
            # What broke one idle connection (a restarted server) broke the others too: the pool
            # tests its idle connections and drops the dead ones before the retry takes one.
            await pool.check()
        raise AssertionError("unreachable")

    async def read(self, work: Callable[[ReadConnection], Awaitable[T]]) -> T:
        """``work`` on a pooled connection that also runs SQLAlchemy Core statements (see read_connection)."""
        return await self.run(lambda conn: work(ReadConnection(conn)))

    async def close(self) -> None:
        """Close the pool of the running loop (a pool of another loop is left to the garbage collector)."""
        pool, self._pool = self._pool, None
        if pool is not None and self._loop is asyncio.get_running_loop():
            await pool.close()
