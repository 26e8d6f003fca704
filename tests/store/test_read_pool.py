"""The read API's async pool (``ReadPool``) when the server closes its connections.

The pool does not ping a connection before use: a connection the server closed while it was idle
fails its first statement, and ``run`` runs the work once more on a fresh connection. Here every
pooled connection is really terminated by the server (``pg_terminate_backend``), between two runs
of the pool and between two requests of the API. An unreachable database at startup is covered
by ``tests/api/test_api_status.py::test_database_down_gives_503_not_500`` (``/articles`` answers 503).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.store.db.listing import ArticleFilters, Listing
from services.store.db.reader import POOL_MIN_CONNECTIONS, AsyncConnection, ReadPool
from shared.config import Settings

_WAIT_SECONDS = 10.0
# Only this test database's API connections: other databases on the server are not ours to touch.
_API_BACKENDS = (
    "SELECT pid FROM pg_stat_activity WHERE application_name = 'newsflow-api' "
    "AND datname = current_database() AND pid <> pg_backend_pid()"
)


def _api_backends(database_url: str) -> list[int]:
    with psycopg.connect(database_url, autocommit=True) as admin:
        return [row[0] for row in admin.execute(_API_BACKENDS)]


def _wait_for_api_backends(database_url: str, count: int) -> list[int]:
    """The pids of the pool's connections once at least ``count`` are open (the pool opens them in the background)."""
    deadline = time.monotonic() + _WAIT_SECONDS
    while time.monotonic() < deadline:
        pids = _api_backends(database_url)
        if len(pids) >= count:
            return pids
        time.sleep(0.02)
    raise AssertionError(f"the pool never had {count} connections open")


def _terminate_api_backends(database_url: str) -> int:
    """Terminate every API connection to this database, waiting until each backend has exited."""
    with psycopg.connect(database_url, autocommit=True) as admin:
        terminated = admin.execute(
            f"SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, {int(_WAIT_SECONDS * 1000)})) "
            f"FROM ({_API_BACKENDS}) AS api"
        ).fetchone()
    assert terminated is not None
    assert _api_backends(database_url) == [], "the terminated backends are gone"
    return int(terminated[0])


async def _backend_pid(conn: AsyncConnection) -> int:
    cursor = await conn.execute("SELECT pg_backend_pid()")
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


def _newest_ids(limit: int) -> Callable[[AsyncConnection], Awaitable[list[str]]]:
    async def work(conn: AsyncConnection) -> list[str]:
        rows = await Listing().page(conn, ArticleFilters(), sort="-ingested_at", limit=limit)
        return [row.article_id for row in rows]

    return work


def _on_pool(database_url: str, scenario: Callable[[ReadPool], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        pool = ReadPool(Settings(database_url=database_url))
        try:
            return await scenario(pool)
        finally:
            await pool.close()

    return asyncio.run(run())


def test_pool_answers_after_the_server_terminated_all_its_connections(seeded_database_url: str) -> None:
    async def scenario(pool: ReadPool) -> tuple[list[str], list[int], int, list[str], int]:
        before = await pool.run(_newest_ids(10))
        opened = await asyncio.to_thread(_wait_for_api_backends, seeded_database_url, POOL_MIN_CONNECTIONS)
        killed = await asyncio.to_thread(_terminate_api_backends, seeded_database_url)
        after = await pool.run(_newest_ids(10))  # a broken connection first, then the retry
        pid = await pool.run(_backend_pid)
        return before, opened, killed, after, pid

    before, opened, killed, after, pid = _on_pool(seeded_database_url, scenario)
    assert len(before) == 5, "the five originals of the seeds"
    assert killed == len(opened) >= POOL_MIN_CONNECTIONS, "every pooled connection was terminated"
    assert after == before
    assert pid not in opened, "the answer came from a new connection"


def test_pool_answers_after_a_single_idle_connection_was_terminated(seeded_database_url: str) -> None:
    """One dead connection among live ones: the run that draws it is retried."""

    async def scenario(pool: ReadPool) -> list[list[str]]:
        await pool.run(_newest_ids(1))
        opened = await asyncio.to_thread(_wait_for_api_backends, seeded_database_url, POOL_MIN_CONNECTIONS)
        with psycopg.connect(seeded_database_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s, %s)", (opened[0], int(_WAIT_SECONDS * 1000)))
        # As many runs as there are connections, so one of them surely draws the dead one.
        return [await pool.run(_newest_ids(2)) for _ in opened]

    answers = _on_pool(seeded_database_url, scenario)
    assert len(answers) >= POOL_MIN_CONNECTIONS
    assert all(answer == answers[0] and len(answer) == 2 for answer in answers)


def test_api_lists_after_the_server_terminated_its_connections_between_requests(seeded_database_url: str) -> None:
    with TestClient(create_app(Settings(database_url=seeded_database_url))) as client:
        first = client.get("/articles", params={"limit": 3})
        assert first.status_code == 200, first.text
        _wait_for_api_backends(seeded_database_url, POOL_MIN_CONNECTIONS)
        assert _terminate_api_backends(seeded_database_url) >= POOL_MIN_CONNECTIONS
        second = client.get("/articles", params={"limit": 3})
        assert second.status_code == 200, second.text
        assert second.json() == first.json()
        # And the pool is whole again: the next page too.
        following = client.get("/articles", params={"limit": 3, "cursor": first.json()["next_cursor"]})
        assert following.status_code == 200, following.text
        assert len(following.json()["items"]) == 2
