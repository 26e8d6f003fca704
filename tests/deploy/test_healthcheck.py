"""The image's health probe (deploy/healthcheck.py) finds its service and asks a real HTTP server."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest

from services.embedded import free_port
from tests.deploy import stack

PROBE_RUN_TIMEOUT_SECONDS = 30


def _load_probe() -> ModuleType:
    spec = importlib.util.spec_from_file_location("newsflow_healthcheck", stack.HEALTHCHECK_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


probe = _load_probe()


class _Endpoints(BaseHTTPRequestHandler):
    """/metrics answers 200; /health answers 503 with a reason, like an API whose database is down."""

    def do_GET(self) -> None:
        if self.path == "/metrics":
            self._answer(200, b"newsflow_up 1\n")
        elif self.path == "/health":
            self._answer(503, b'{"status": "unavailable", "reason": "database not reachable"}')
        else:
            self._answer(404, b"not found")

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        pass


@pytest.fixture
def server_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Endpoints)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _run_probe(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in stack.settings_env_names()}
    return subprocess.run(
        [sys.executable, str(stack.HEALTHCHECK_SCRIPT), *args],
        env={**clean, "NEWSFLOW_METRICS_HOST": "0.0.0.0", "NEWSFLOW_API_HOST": "0.0.0.0", **env},
        cwd=tmp_path,  # no stray .env
        capture_output=True,
        text=True,
        timeout=PROBE_RUN_TIMEOUT_SECONDS,
    )


@pytest.mark.parametrize(
    ("argv", "service"),
    [
        (["/opt/venv/bin/python", "/opt/venv/bin/newsflow", "ingest"], "ingest"),
        (["/sbin/docker-init", "--", "newsflow", "enrich"], "enrich"),
        (["/opt/venv/bin/python", "-m", "services.cli", "store"], "store"),
        (["/sbin/docker-init", "--", "newsflow", "api"], "api"),
        (["newsflow", "run", "--enrich-replicas", "2"], "run"),
        (["newsflow", "migrate", "--service", "store"], "migrate"),
        (["newsflow", "--help"], None),
        (["postgres", "-D", "/data"], None),
    ],
)
def test_service_is_read_from_the_command_line(argv: list[str], service: str | None) -> None:
    assert probe.service_from_argv(argv) == service


def test_probes_use_the_configured_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = stack.container_settings("api", monkeypatch)
    assert probe.probe_for("api", [], settings).url == f"http://127.0.0.1:{settings.api_port}/health"
    store = stack.container_settings("store", monkeypatch)
    assert probe.probe_for("store", [], store).url == f"http://127.0.0.1:{store.store_metrics_port}/health"
    assert probe.probe_for("ingest", [], settings).url.endswith(f":{settings.ingest_metrics_port}/metrics")
    assert probe.probe_for("enrich", [], settings).url.endswith(f":{settings.enrich_metrics_port}/metrics")
    assert probe.probe_for("ingest", ["newsflow", "ingest", "--once"], settings).url is None
    with pytest.raises(ValueError, match="unknown service"):
        probe.probe_for("transcode", [], settings)


def test_a_service_whose_metrics_answer_is_healthy(tmp_path: Path, server_port: int) -> None:
    result = _run_probe(tmp_path, "enrich", NEWSFLOW_ENRICH_METRICS_PORT=str(server_port))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f":{server_port}/metrics answered 200" in result.stdout


def test_an_api_whose_health_fails_is_unhealthy_and_says_why(tmp_path: Path, server_port: int) -> None:
    result = _run_probe(tmp_path, "api", NEWSFLOW_API_PORT=str(server_port))
    assert result.returncode == 1
    assert "503" in result.stdout and "database not reachable" in result.stdout


def test_a_store_is_asked_on_its_metrics_port(tmp_path: Path, server_port: int) -> None:
    result = _run_probe(tmp_path, "store", NEWSFLOW_STORE_METRICS_PORT=str(server_port))
    assert result.returncode == 1, "the store's /health answered 503"
    assert f":{server_port}/health answered 503" in result.stdout


def test_a_service_that_does_not_answer_is_unhealthy(tmp_path: Path) -> None:
    result = _run_probe(tmp_path, "ingest", NEWSFLOW_INGEST_METRICS_PORT=str(free_port()))
    assert result.returncode == 1
    assert "did not answer" in result.stdout


def test_one_shot_commands_count_as_healthy(tmp_path: Path) -> None:
    result = _run_probe(tmp_path, "migrate")
    assert result.returncode == 0
    assert "nothing to probe" in result.stdout
