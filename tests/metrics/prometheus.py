"""A real Prometheus (Debian's ``/usr/bin/prometheus``) scraping a running stack through its file_sd targets file.

The config is what the README tells users to write, plus a 1 s scrape interval so a test sees
data within seconds, the alert rules compose's Prometheus loads, and, where one runs, Debian's
postgres_exporter on the pipeline's database (job ``postgres``, as in compose).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from services.embedded import free_port, wait_for_port
from tests.conftest import REPO_ROOT

SCRAPE_INTERVAL = "1s"
RULES = REPO_ROOT / "deploy" / "prometheus" / "rules.yml"
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 20.0


def prometheus_binary() -> str | None:
    return shutil.which("prometheus")


def postgres_exporter_binary() -> str | None:
    return shutil.which("prometheus-postgres-exporter") or shutil.which("postgres_exporter")


@dataclass
class RunningPrometheus:
    url: str
    log: Path

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The result vector of an instant query (raises with Prometheus' error for a bad expression)."""
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        body = response.json()
        assert body.get("status") == "success", f"{expr}: {body.get('error', response.text)}"
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def wait_until(self, expr: str, predicate: Any, timeout_seconds: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_seconds
        result: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            result = self.query(expr)
            if predicate(result):
                return result
            time.sleep(0.5)
        raise AssertionError(
            f"{expr} never satisfied the condition; last result: {result}\n{self.log.read_text()[-3000:]}"
        )


def write_config(path: Path, targets_file: Path, postgres_exporter: str | None = None) -> None:
    exporter = (
        f'  - job_name: postgres\n    static_configs: [{{targets: ["{postgres_exporter}"]}}]\n'
        if postgres_exporter
        else ""
    )
    path.write_text(
        "global:\n"
        f"  scrape_interval: {SCRAPE_INTERVAL}\n"
        f"  scrape_timeout: {SCRAPE_INTERVAL}\n"
        f"  evaluation_interval: {SCRAPE_INTERVAL}\n"
        f'rule_files: ["{RULES}"]\n'
        "scrape_configs:\n"
        "  - job_name: newsflow\n"
        f'    file_sd_configs: [{{files: ["{targets_file}"], refresh_interval: {SCRAPE_INTERVAL}}}]\n' + exporter
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def start_postgres_exporter(binary: str, database_url: str, log: Path) -> Iterator[str]:
    """Debian's postgres_exporter on ``database_url``; yields its host:port."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, f"--web.listen-address=127.0.0.1:{port}"],
            env={"DATA_SOURCE_NAME": database_url, "PATH": "/usr/bin:/bin"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        assert wait_for_port("127.0.0.1", port, READY_TIMEOUT_SECONDS), f"postgres_exporter:\n{log.read_text()}"
        yield f"127.0.0.1:{port}"
    finally:
        _stop(process)


@contextmanager
def start_prometheus(
    binary: str, workdir: Path, targets_file: Path, postgres_exporter: str | None = None
) -> Iterator[RunningPrometheus]:
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    write_config(config, targets_file, postgres_exporter)
    port = free_port()
    log = workdir / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    running = RunningPrometheus(f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while True:
            assert process.poll() is None, f"prometheus exited:\n{log.read_text()}"
            try:
                if httpx.get(f"{running.url}/-/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"prometheus not ready:\n{log.read_text()}"
            time.sleep(0.25)
        yield running
    finally:
        _stop(process)
