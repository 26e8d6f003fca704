"""``newsflow api`` as its own process, with one uvicorn worker or several (``NEWSFLOW_API_WORKERS``).

Several workers serve the same app, stop together on SIGTERM, and ``/metrics`` counts the
requests every one of them answered (prometheus-client's multiprocess collector).
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from services.embedded import free_port
from tests.conftest import REPO_ROOT
from tests.stack import clean_environment, still_running

pytestmark = pytest.mark.slow

_READY_SECONDS = 60.0
_STOP_SECONDS = 30.0
_REQUESTS = 24


def _articles_answered(metrics: str) -> float:
    pattern = r'^newsflow_store_api_requests_total{method="GET",route="/articles",status="200"} (\S+)$'
    match = re.search(pattern, metrics, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def _wait_ready(api: str, process: subprocess.Popen[bytes], output: Path) -> None:
    deadline = time.monotonic() + _READY_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, f"newsflow api exited:\n{output.read_text()[-3000:]}"
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"/health did not answer 200 within {_READY_SECONDS:.0f} s:\n{output.read_text()[-3000:]}")


@pytest.mark.parametrize("workers", [1, 2])
def test_newsflow_api_serves_with_its_workers(seeded_database_url: str, tmp_path: Path, workers: int) -> None:
    port = free_port()
    env = {
        **clean_environment(),
        "PYTHONPATH": str(REPO_ROOT),
        "DATABASE_URL": seeded_database_url,
        "NEWSFLOW_API_PORT": str(port),
        "NEWSFLOW_API_WORKERS": str(workers),
        "NEWSFLOW_DATA_DIR": str(tmp_path / "data"),
    }
    output = tmp_path / "api.out"
    with output.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "api"], cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    api = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(api, process, output)
        if workers > 1:
            children = psutil.Process(process.pid).children()
            assert len(children) >= workers, [c.cmdline() for c in children]
        before = _articles_answered(httpx.get(f"{api}/metrics", timeout=5).text)
        for _ in range(_REQUESTS):
            # A new connection each time, so the requests spread over the workers.
            response = httpx.get(f"{api}/articles", params={"include_duplicates": "true"}, timeout=10)
            assert response.status_code == 200 and len(response.json()["items"]) == 6
        after = _articles_answered(httpx.get(f"{api}/metrics", timeout=5).text)
        assert after - before == _REQUESTS, "every worker's requests are counted"
    finally:
        processes = _with_children(process.pid)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    time.sleep(0.5)
    assert not still_running(processes), "SIGTERM stops every worker"


def _with_children(pid: int) -> list[psutil.Process]:
    try:
        parent = psutil.Process(pid)
        return [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []
