"""``newsflow run``: the whole pipeline under one supervisor.

Starts what is missing (embedded broker and Postgres when ``KAFKA_BOOTSTRAP_SERVERS`` /
``DATABASE_URL`` are unset), applies migrations, creates topics, then runs ingest, enrich, the
store (the writer) and the read API as child processes. A child that dies is restarted with
exponential backoff; SIGINT / SIGTERM stops the children first, then the embedded servers,
leaving no process behind.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from services.api.access import api_access
from services.embedded import EmbeddedBroker, EmbeddedPostgres, start_broker, start_postgres
from services.ports import PortTaken, ServicePort
from services.proc import die_with_parent
from shared.config import Settings
from shared.db import migrate_all
from shared.kafka import ensure_topics
from shared.run_info import RunInfo, recordable_database_url, write_run_info

log = logging.getLogger(__name__)

_RESTART_BACKOFF_START_SECONDS = 1.0
_RESTART_BACKOFF_MAX_SECONDS = 30.0
# A child that stayed up this long is considered healthy again: its backoff starts over.
_STABLE_AFTER_SECONDS = 60.0
_STOP_GRACE_SECONDS = 15.0
_MONITOR_INTERVAL_SECONDS = 0.5
_API_READY_TIMEOUT_SECONDS = 120.0
# The supervisor's own JSON log lines (the embedded servers' start-up, migrations, restarts).
SUPERVISOR_LOG = "supervisor.log"


@dataclass
class Child:
    """One supervised service process, and the ports it listens on (chosen again at each start)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    ports: list[ServicePort] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff_seconds: float = _RESTART_BACKOFF_START_SECONDS
    restart_at: float | None = None

    def choose_ports(self) -> list[str]:
        """Keep each port while it is free, else pick another (see ``services.ports``); what changed."""
        notes = []
        for port in self.ports:
            note = port.choose()
            self.env[port.variable] = str(port.current)
            if note:
                notes.append(note)
        return notes

    def start(self) -> None:
        try:
            notes = self.choose_ports()
        except PortTaken as exc:
            # A port the user chose is held by another program: say so, and try again after the backoff.
            log.error("service not started: its port is taken", extra={"child": self.name, "error": str(exc)})
            self.process = None
            self.restart_at = None
            return
        for note in notes:
            log.warning("port replaced", extra={"child": self.name, "detail": note})
            print(note, flush=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C goes to the supervisor, which stops children in order
                preexec_fn=die_with_parent,
            )
        self.started_at = time.monotonic()
        self.restart_at = None
        log.info("service started", extra={"child": self.name, "pid": self.process.pid, "log": str(self.log_path)})

    def check(self) -> None:
        """Restart the child (after its backoff) if it exited."""
        now = time.monotonic()
        if self.process is not None and self.process.poll() is None:
            if now - self.started_at > _STABLE_AFTER_SECONDS:
                self.backoff_seconds = _RESTART_BACKOFF_START_SECONDS
            return
        if self.restart_at is None:
            code = self.process.returncode if self.process else None
            self.restart_at = now + self.backoff_seconds
            log.error(
                "service exited; restarting",
                extra={"child": self.name, "exit_code": code, "restart_in_seconds": self.backoff_seconds},
            )
            self.backoff_seconds = min(_RESTART_BACKOFF_MAX_SECONDS, self.backoff_seconds * 2)
        elif now >= self.restart_at:
            self.restarts += 1
            self.start()

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()

    def wait_or_kill(self, deadline: float) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("service did not stop in time; killing it", extra={"child": self.name})
            self.process.kill()
            self.process.wait(timeout=5)


@dataclass
class Supervisor:
    """Owns the embedded servers and the service processes of one ``newsflow run``."""

    settings: Settings
    enrich_replicas: int = 1
    broker: EmbeddedBroker | None = None
    postgres: EmbeddedPostgres | None = None
    children: list[Child] = field(default_factory=list)
    api_port: ServicePort = field(init=False)
    store_port: ServicePort = field(init=False)
    ingest_port: ServicePort = field(init=False)
    enrich_ports: list[ServicePort] = field(init=False)

    def run(self, stop: threading.Event) -> None:
        """Run everything until ``stop``; raises :class:`PortTaken` at once when a chosen port is held."""
        try:
            # Before anything slow starts: a port the user chose and cannot have is an error at once.
            notes = self._choose_ports()
            env = self._prepare()
            if stop.is_set():
                return
            self._start_children(env)
            self._write_run_files(env, self._api_url())
            ready = _wait_for_api(self._api_url(), stop)
            print(_banner(self.settings, env, self._api_url(), ready, notes), flush=True)
            while not stop.wait(_MONITOR_INTERVAL_SECONDS):
                restarts_before = sum(child.restarts for child in self.children)
                for child in self.children:
                    child.check()
                if sum(child.restarts for child in self.children) != restarts_before:
                    self._write_run_files(env, self._api_url())
        finally:
            self._shutdown()

    # -------------------------------------------------------------------------------------
    def _choose_ports(self) -> list[str]:
        """Every service's ports for the first start; one line for each that is not the one wanted."""
        settings = self.settings
        explicit = settings.model_fields_set
        self.api_port = ServicePort(
            "the API", "NEWSFLOW_API_PORT", settings.api_port, "api_port" in explicit, settings.api_host
        )
        self.store_port = ServicePort(
            "the store's metrics",
            "NEWSFLOW_STORE_METRICS_PORT",
            settings.store_metrics_port,
            "store_metrics_port" in explicit,
            settings.metrics_host,
        )
        self.ingest_port = ServicePort(
            "ingest's metrics",
            "NEWSFLOW_INGEST_METRICS_PORT",
            settings.ingest_metrics_port,
            "ingest_metrics_port" in explicit,
            settings.metrics_host,
        )
        self.enrich_ports = [
            ServicePort(
                "enrich's metrics" if self.enrich_replicas == 1 else f"enrich-{replica + 1}'s metrics",
                "NEWSFLOW_ENRICH_METRICS_PORT",
                settings.enrich_metrics_port + replica,
                "enrich_metrics_port" in explicit,
                settings.metrics_host,
            )
            for replica in range(self.enrich_replicas)
        ]
        notes = []
        # The API keeps the port of the previous run when its default is taken: the URLs people use stay.
        previous = _previous_api_port(settings.data_dir.resolve())
        api_note = self.api_port.choose(fallback=previous)
        notes += [api_note] if api_note else []
        for port in [self.ingest_port, self.store_port, *self.enrich_ports]:
            note = port.choose()
            notes += [note] if note else []
        return notes

    def _api_url(self) -> str:
        return f"http://{self.settings.api_host}:{self.api_port.current}"

    def _store_metrics_address(self) -> str:
        return f"{self.settings.metrics_host}:{self.store_port.current}"

    # -------------------------------------------------------------------------------------
    def _prepare(self) -> dict[str, str]:
        """Start what is missing, migrate, create topics; the environment for the children."""
        settings = self.settings
        data_dir = settings.data_dir.resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        inbox = settings.inbox.resolve()
        inbox.mkdir(parents=True, exist_ok=True)

        _say(f"newsflow is starting (details in {data_dir / 'logs'})")
        kafka = settings.kafka_bootstrap_servers
        if not kafka:
            self.broker = start_broker(data_dir / "logs")
            kafka = self.broker.bootstrap_servers
        database_url = settings.database_url
        if not database_url:
            self.postgres = start_postgres(data_dir / "postgres")
            database_url = self.postgres.url

        effective = settings.model_copy(update={"kafka_bootstrap_servers": kafka, "database_url": database_url})
        migrate_all(database_url)
        where = f"embedded, data in {self.postgres.pgdata}" if self.postgres else "DATABASE_URL"
        _say(_line("database", f"Postgres ({where}): schema up to date"))
        ensure_topics(effective)
        _say(
            _line(
                "broker",
                f"{kafka} ({'embedded, in memory' if self.broker else 'KAFKA_BOOTSTRAP_SERVERS'}): topics ready",
            )
        )

        env = dict(os.environ)
        env.update(
            {
                "KAFKA_BOOTSTRAP_SERVERS": kafka,
                "DATABASE_URL": database_url,
                "NEWSFLOW_DATA_DIR": str(data_dir),
                "NEWSFLOW_INBOX": str(inbox),
                # Ports are chosen by each child's start (services.ports), these are the first choices.
                "NEWSFLOW_API_PORT": str(self.api_port.current),
                "NEWSFLOW_INGEST_METRICS_PORT": str(self.ingest_port.current),
                "NEWSFLOW_STORE_METRICS_PORT": str(self.store_port.current),
            }
        )
        return env

    def _start_children(self, env: dict[str, str]) -> None:
        logs = self.settings.data_dir.resolve() / "logs"
        cli = [sys.executable, "-m", "services.cli"]
        self.children = [
            Child("ingest", [*cli, "ingest"], dict(env), logs / "ingest.log", [self.ingest_port]),
            Child("store", [*cli, "store"], dict(env), logs / "store.log", [self.store_port]),
            Child("api", [*cli, "api"], dict(env), logs / "api.log", [self.api_port]),
        ]
        for replica, port in enumerate(self.enrich_ports):
            name = "enrich" if self.enrich_replicas == 1 else f"enrich-{replica + 1}"
            self.children.append(Child(name, [*cli, "enrich"], dict(env), logs / f"{name}.log", [port]))
        for child in self.children:
            child.start()
            pid = child.process.pid if child.process else "?"
            _say(_line(child.name, f"started (pid {pid}), log {child.log_path.name}"))

    def _write_run_files(self, env: dict[str, str], api_url: str) -> None:
        """run.json for people and tools; a Prometheus file_sd targets file for scraping."""
        data_dir = self.settings.data_dir.resolve()
        host = self.settings.metrics_host
        targets = [
            {"targets": [f"{host}:{self.ingest_port.current}"], "labels": {"service": "ingest"}},
            {"targets": [self._store_metrics_address()], "labels": {"service": "store"}},
            {"targets": [f"{self.settings.api_host}:{self.api_port.current}"], "labels": {"service": "api"}},
        ]
        for child in self.children:
            if child.name.startswith("enrich"):
                port = child.env["NEWSFLOW_ENRICH_METRICS_PORT"]
                targets.append({"targets": [f"{host}:{port}"], "labels": {"service": "enrich", "replica": child.name}})
        (data_dir / "prometheus_targets.json").write_text(json.dumps(targets, indent=2) + "\n")
        run_info = RunInfo(
            pid=os.getpid(),
            api_url=api_url,
            store_metrics_url=f"http://{self._store_metrics_address()}/metrics",
            data_dir=str(data_dir),
            inbox=env["NEWSFLOW_INBOX"],
            kafka_bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"],
            database_url=recordable_database_url(env["DATABASE_URL"]),
            embedded_broker=self.broker is not None,
            embedded_postgres=self.postgres is not None,
            services={c.name: c.process.pid for c in self.children if c.process},
        )
        write_run_info(data_dir, run_info)

    def _shutdown(self) -> None:
        log.info("stopping", extra={"children": [c.name for c in self.children]})
        _say("newsflow is stopping (services, then the embedded broker and database)...")
        for child in self.children:
            child.terminate()
        deadline = time.monotonic() + _STOP_GRACE_SECONDS
        for child in self.children:
            child.wait_or_kill(deadline)
        if self.broker is not None:
            self.broker.stop()
        if self.postgres is not None:
            self.postgres.stop()
        log.info("stopped")
        _say("newsflow stopped.")


def _previous_api_port(data_dir: Path) -> int | None:
    """The API port the last ``newsflow run`` of this data dir used (from its run.json), if any."""
    try:
        url = json.loads((data_dir / "run.json").read_text()).get("api_url", "")
        return int(str(url).rsplit(":", 1)[1])
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _wait_for_api(api_url: str, stop: threading.Event) -> bool:
    deadline = time.monotonic() + _API_READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline and not stop.is_set():
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        stop.wait(0.5)
    return False


def _say(line: str) -> None:
    """A line for the person at the terminal (the JSON log lines go to the log files)."""
    print(line, flush=True)


def _line(label: str, text: str) -> str:
    return f"  {label:<10} {text}"


def _cli_command() -> str:
    """How to call the ``newsflow`` command from the current folder (it is not on PATH in a venv)."""
    script = Path(sys.executable).parent / "newsflow"
    if not script.exists():
        return f"{sys.executable} -m services.cli"
    try:
        return str(script.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(script.absolute())


def _banner(settings: Settings, env: dict[str, str], api_url: str, ready: bool, notes: list[str]) -> str:
    state = "ready" if ready else "starting (the API is not answering yet; see the logs)"
    cli = _cli_command()
    return "\n".join(
        [
            "",
            f"newsflow is {state}.",
            *(f"  note: {note}" for note in notes),
            f"  inbox      {env['NEWSFLOW_INBOX']}   (drop .txt/.html/.json/.jsonl/.gz news files here)",
            f"  API        {api_url}/articles",
            f"  API docs   {api_url}/docs",
            f"  dashboard  {api_url}/dashboard",
            f"  health     {api_url}/health",
            f"  access     {api_access(settings)[0]}",
            f"  logs       {settings.data_dir.resolve() / 'logs'}",
            f"  commands   {cli} --help",
            "",
            "Try:",
            f"  cp seeds/*.txt {env['NEWSFLOW_INBOX']}/",
            f"  curl -s '{api_url}/articles?include_duplicates=true' | python3 -m json.tool",
            f"  {cli} ingest FOLDER --once    # a backfill; FOLDER is left as it is (or: make backfill DIR=FOLDER)",
            "",
            f"Stop with Ctrl-C (or kill -TERM {os.getpid()}).",
            "",
        ]
    )
