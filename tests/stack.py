"""Starting the whole pipeline as a user does (``newsflow run`` as a subprocess), for tests that need it.

Embedded broker and Postgres, a free API port, its own data dir and inbox under the given folder.
``start_pipeline`` yields once the supervisor printed its "ready" banner and stops everything
(SIGTERM, then kill) afterwards, printing the services' logs if the test failed in between.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.harness.pipeline import free_metrics_ports
from services.embedded import free_port
from tests.conftest import REPO_ROOT, SEEDS_DIR

START_TIMEOUT_SECONDS = 180.0
STOP_TIMEOUT_SECONDS = 60.0
_POLL_SECONDS = 0.25


@dataclass
class RunningPipeline:
    process: subprocess.Popen[bytes]
    api: str
    inbox: Path
    data_dir: Path
    output: Path

    def run_info(self) -> dict[str, Any]:
        info: dict[str, Any] = json.loads((self.data_dir / "run.json").read_text())
        return info

    @property
    def targets_file(self) -> Path:
        return self.data_dir / "prometheus_targets.json"

    def store_metrics(self) -> str:
        """The store's /metrics URL (it serves no API: its metrics and /health have a port of their own)."""
        return str(self.run_info()["store_metrics_url"])

    def drop_seeds(self) -> int:
        seeds = sorted(SEEDS_DIR.glob("*.txt"))
        for seed in seeds:
            shutil.copy(seed, self.inbox / seed.name)
        return len(seeds)

    def articles(self, **params: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.api}/articles", params={"include_duplicates": "true", "limit": "100", **params})
        response.raise_for_status()
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    def wait_for_articles(self, count: int, timeout_seconds: float) -> list[dict[str, Any]]:
        """The stored articles once there are ``count``; fails with what was there after the timeout."""
        deadline = time.monotonic() + timeout_seconds
        items: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            items = self.articles()
            if len(items) >= count:
                return items
            time.sleep(_POLL_SECONDS)
        raise AssertionError(f"{len(items)} of {count} articles stored after {timeout_seconds:.0f} s")


def clean_environment() -> dict[str, str]:
    """This process's environment without anything that tells newsflow where things are."""
    return {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS") and not k.startswith("NEWSFLOW_")
    }


# Held while a pipeline runs on the default metrics ports (started as a user starts it): the
# suite's workers run such tests one at a time, so none finds another's services on 9101-9103
# (each would then move to another port and say so, which a quiet start must not).
_DEFAULT_PORTS_LOCK = Path(tempfile.gettempdir()) / "newsflow-tests-default-ports.lock"


@contextmanager
def default_ports() -> Iterator[None]:
    """The default metrics ports to this test alone (across the suite's worker processes)."""
    with _DEFAULT_PORTS_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def start_pipeline(workdir: Path, *, default_dirs: bool = False) -> Iterator[RunningPipeline]:
    """``newsflow run`` on embedded defaults with everything under ``workdir``.

    ``default_dirs``: as a user starts it, with no NEWSFLOW_DATA_DIR or NEWSFLOW_INBOX (the data
    dir is then ``workdir/.newsflow``, the inbox ``workdir/inbox``) and on the default metrics
    ports (``default_ports``); else ``workdir/data`` and ``workdir/inbox``, named in the
    environment, and free metrics ports.
    """
    with contextlib.ExitStack() as stack:
        if default_dirs:
            stack.enter_context(default_ports())
        yield stack.enter_context(_start_pipeline(workdir, default_dirs))


@contextmanager
def _start_pipeline(workdir: Path, default_dirs: bool) -> Iterator[RunningPipeline]:
    workdir.mkdir(parents=True, exist_ok=True)
    env = clean_environment()
    port = free_port()
    data_dir = workdir / (".newsflow" if default_dirs else "data")
    env.update({"NEWSFLOW_API_PORT": str(port), "PYTHONPATH": str(REPO_ROOT)})
    if not default_dirs:
        env.update({"NEWSFLOW_DATA_DIR": str(data_dir), "NEWSFLOW_INBOX": str(workdir / "inbox")})
        env.update(free_metrics_ports())
    output = workdir / "run.out"
    with output.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "run"], cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    running = RunningPipeline(process, f"http://127.0.0.1:{port}", workdir / "inbox", data_dir, output)
    failed = True
    try:
        _wait_until_ready(running)
        yield running
        failed = False
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
        if failed:
            dump_logs(running)


def _wait_until_ready(running: RunningPipeline) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        assert running.process.poll() is None, f"newsflow run exited early:\n{running.output.read_text()}"
        if "newsflow is ready" in running.output.read_text(errors="replace"):
            return
        time.sleep(0.5)
    raise AssertionError(f"newsflow run did not become ready:\n{running.output.read_text()}")


def dump_logs(running: RunningPipeline) -> None:
    logs = running.data_dir / "logs"
    if logs.is_dir():
        for path in sorted(logs.glob("*.log")):
            sys.stderr.write(f"\n--- {path.name} (tail) ---\n{path.read_text(errors='replace')[-4000:]}\n")


# --- `make run` in a project folder, as a newcomer starts it -------------------------------------
PROJECT_LINKS = ("Makefile", ".venv", "pyproject.toml", "constraints.txt")


def scratch_project(folder: Path) -> Path:
    """A project folder as a fresh clone looks to `make run`: the Makefile and the installed .venv
    (linked, so nothing is installed again), its own copy of the seeds, and no data dir yet."""
    folder.mkdir(parents=True)
    for name in PROJECT_LINKS:
        (folder / name).symlink_to(REPO_ROOT / name)
    shutil.copytree(SEEDS_DIR, folder / "seeds")
    return folder


@dataclass
class MakeRun:
    """`make run` started in its own session (so a signal to it reaches make alone, as `kill` does)."""

    process: subprocess.Popen[bytes]
    project: Path
    output: Path

    @property
    def data_dir(self) -> Path:
        return self.project / ".newsflow"

    def run_info(self) -> dict[str, Any]:
        info: dict[str, Any] = json.loads((self.data_dir / "run.json").read_text())
        return info

    def processes(self) -> list[psutil.Process]:
        """make and everything under it (supervisor, services, broker, Postgres)."""
        root = psutil.Process(self.process.pid)
        return [root, *root.children(recursive=True)]


def _signals_as_a_terminal_leaves_them() -> None:
    # A shell without job control starts background commands with SIGINT and SIGQUIT ignored, and
    # make (like bash) keeps an ignored signal ignored: a suite started that way (nohup ... &, some
    # CI runners) would test a make that Ctrl-C cannot stop. A user's make runs from a terminal.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


@contextmanager
def start_make_run(project: Path, command: str = "make run") -> Iterator[MakeRun]:
    """``command`` (the README's) in ``project`` with a clean environment; yields once newsflow is ready.

    As a user runs it, on the default metrics ports: one such test at a time (``default_ports``).
    """
    with default_ports():
        yield from _start_make_run(project, command)


def _start_make_run(project: Path, command: str) -> Iterator[MakeRun]:
    output = project / "make-run.out"
    with output.open("wb") as out:
        process = subprocess.Popen(
            ["bash", "-c", command],
            cwd=project,
            env={**clean_environment(), "PYTHONPATH": str(REPO_ROOT)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_signals_as_a_terminal_leaves_them,
        )
    running = MakeRun(process, project, output)
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while "newsflow is ready" not in output.read_text(errors="replace"):
            assert process.poll() is None, f"{command} exited early:\n{output.read_text()}"
            assert time.monotonic() < deadline, f"{command} did not become ready:\n{output.read_text()}"
            time.sleep(0.5)
        yield running
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def still_running(processes: list[psutil.Process]) -> list[str]:
    """Those of ``processes`` that are still alive (zombies count as gone)."""
    alive = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(f"{process.pid} {' '.join(process.cmdline())[:80]}")
        except psutil.NoSuchProcess:
            continue
    return alive
