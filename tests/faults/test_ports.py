"""Ports of ``newsflow run`` (issues 19 and 23): a chosen port that is taken stops it at once, naming the port
and who holds it; a default port that is taken is replaced and the banner says so; a service that restarts
while another program took its port gets a new one, and the targets file follows.

Real ``newsflow run`` processes and real sockets held by this test.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import httpx
import pytest

from bench.harness.pipeline import Pipeline, drop, free_metrics_ports, make_articles, wait_until
from services.embedded import free_port
from services.supervisor import Supervisor
from shared.config import Settings
from tests.conftest import REPO_ROOT
from tests.faults.conftest import PipelineFactory
from tests.stack import default_ports

pytestmark = pytest.mark.faults

CHOSEN_PORT_ERROR_WITHIN_SECONDS = 5.0
API_DEFAULT_PORT = 8000


@contextmanager
def _listening(port: int) -> Iterator[socket.socket]:
    """Hold ``port`` on 127.0.0.1 as another program would."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        # As servers do (connections of the port's last owner may linger in TIME_WAIT).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = time.monotonic() + 5
        while True:
            try:
                sock.bind(("127.0.0.1", port))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)  # a killed owner's socket closes as the kernel finishes it off
        sock.listen()
        yield sock


def _run_env(root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSFLOW_") and k != "DATABASE_URL"}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    env.update(
        {
            "NEWSFLOW_DATA_DIR": str(root / "data"),
            "NEWSFLOW_INBOX": str(root / "inbox"),
            "PYTHONPATH": str(REPO_ROOT),
            # Off the default metrics ports, which the user-like tests hold (tests.stack.default_ports).
            **free_metrics_ports(),
            **extra,
        }
    )
    return env


@pytest.mark.parametrize(
    "variable", ["NEWSFLOW_API_PORT", "NEWSFLOW_INGEST_METRICS_PORT", "NEWSFLOW_STORE_METRICS_PORT"]
)
def test_a_chosen_port_that_is_taken_is_an_error_at_once_naming_it_and_its_holder(
    tmp_path: Path, variable: str
) -> None:
    port = free_port()
    with _listening(port):
        started = time.monotonic()
        finished = subprocess.run(
            [sys.executable, "-m", "services.cli", "run"],
            cwd=tmp_path,
            env=_run_env(tmp_path, **{variable: str(port)}),
            capture_output=True,
            text=True,
            timeout=60,
        )
        elapsed = time.monotonic() - started
    assert finished.returncode != 0
    assert elapsed < CHOSEN_PORT_ERROR_WITHIN_SECONDS, f"took {elapsed:.1f} s"
    message = finished.stderr.strip().splitlines()[-1]
    assert f"port {port}" in message and variable in message, message
    assert f"pid {os.getpid()}" in message, "the program holding the port is named"
    assert not (tmp_path / "data" / "postgres").exists(), "nothing slow was started first"


def test_a_taken_default_api_port_is_replaced_said_in_the_banner_and_kept_by_the_next_run(tmp_path: Path) -> None:
    try:
        holder = _listening(API_DEFAULT_PORT)
        holder.__enter__()
    except OSError:
        holder = None  # another program holds 8000 already: taken all the same
    try:
        first = _start_run(tmp_path, "first")
        try:
            banner = first.output.read_text()
            note = next(line for line in banner.splitlines() if f"port {API_DEFAULT_PORT} is taken" in line)
            assert "using" in note
            chosen = first.api_port()
            assert chosen != API_DEFAULT_PORT and f"using {chosen}" in note
            assert httpx.get(f"http://127.0.0.1:{chosen}/health", timeout=10).status_code in (200, 503)
        finally:
            first.stop()
        # The next run's choice (made before anything starts) keeps the API where the last one was.
        settings = Settings(_env_file=None, data_dir=tmp_path / "data", inbox=tmp_path / "inbox")
        assert "api_port" not in settings.model_fields_set
        supervisor = Supervisor(settings)
        notes = supervisor._choose_ports()
        assert supervisor.api_port.current == chosen, notes
    finally:
        if holder is not None:
            holder.__exit__(None, None, None)


def test_a_service_restarting_while_its_metrics_port_was_taken_gets_another(pipelines: PipelineFactory) -> None:
    # A default port is replaced when taken (a chosen one is refused): this pipeline is on the
    # defaults, which it holds alone among the suite's pipelines.
    with default_ports():
        pipeline = pipelines(default_metrics_ports=True)
        try:
            _restart_on_a_taken_metrics_port(pipeline)
        finally:
            pipeline.stop()  # off the defaults before another test may take them


def _restart_on_a_taken_metrics_port(pipeline: Pipeline) -> None:
    old_port = _metrics_port(pipeline, "ingest")
    old_pid = pipeline.kill("ingest")
    with _listening(old_port):
        new_pid = pipeline.wait_restarted("ingest", old_pid)
        wait_until(lambda: _metrics_port(pipeline, "ingest") != old_port, "the targets file to show a new port", 60)
        new_port = _metrics_port(pipeline, "ingest")
        wait_until(lambda: _answers(new_port), "ingest's metrics on the new port", 60)
        names = drop(pipeline.inbox, make_articles(3, prefix="after-port"))
        wait_until(lambda: len(pipeline_articles(pipeline, "after-port")) == len(names), "files to flow", 120)
        assert pipeline.pid("ingest") == new_pid, "one restart was enough: no crash loop"
    assert "was taken" in pipeline.output.read_text(), "the supervisor said which port moved"


# --- helpers -------------------------------------------------------------------------------------
class _Run:
    def __init__(self, process: subprocess.Popen[bytes], root: Path, output: Path) -> None:
        self.process, self.root, self.output = process, root, output

    def api_port(self) -> int:
        info = json.loads((self.root / "data" / "run.json").read_text())
        return int(info["api_url"].rsplit(":", 1)[1])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _start_run(root: Path, label: str) -> _Run:
    output = root / f"{label}.out"
    with output.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "run"],
            cwd=root,
            env=_run_env(root),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    run = _Run(process, root, output)
    deadline = time.monotonic() + 180
    while "newsflow is ready" not in output.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            run.stop()
            raise AssertionError(f"newsflow run did not become ready:\n{output.read_text()[-3000:]}")
        time.sleep(0.25)
    return run


def _metrics_port(pipeline: Pipeline, service: str) -> int:
    groups = json.loads((pipeline.data_dir / "prometheus_targets.json").read_text())
    (address,) = [group["targets"][0] for group in groups if group["labels"]["service"] == service]
    return int(address.rsplit(":", 1)[1])


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def pipeline_articles(pipeline: Pipeline, prefix: str) -> list[dict[str, object]]:
    response = httpx.get(f"{pipeline.api}/articles", params={"include_duplicates": "true", "limit": "100"}, timeout=10)
    return [item for item in response.json()["items"] if str(item["source_file"]).startswith(prefix)]
