"""What every benchmark shares: where eval-dev is, scratch databases, the machine line, and
writing one's own section of ``docs/benchmarks.md`` without touching the others."""

from __future__ import annotations

import os
import platform
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_FILE = REPO_ROOT / "docs" / "benchmarks.md"
EVAL_DEV = REPO_ROOT.parent / "shared" / "eval-dev"
ADMIN_URL = os.environ.get("NEWSFLOW_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def machine_line() -> str:
    """Date, cores, Python and the load average when the measurement started (noise indicator)."""
    return (
        f"{datetime.now(UTC):%Y-%m-%d}, {platform.machine()} with {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f} at start"
    )


@contextmanager
def scratch_database(admin_url: str = ADMIN_URL, *, migrate: tuple[str, ...] = ()) -> Iterator[str]:
    """A new database (with the named services' migrations applied), dropped afterwards."""
    from shared.db import run_migrations

    name = f"newsflow_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        for service in migrate:
            run_migrations(url, service=service)
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def write_section(bench_name: str, body: str) -> None:
    """Replace (or append) the section of ``docs/benchmarks.md`` owned by ``bench/<bench_name>``."""
    start, end = f"<!-- bench/{bench_name}: start -->", f"<!-- bench/{bench_name}: end -->"
    section = f"{start}\n{body.strip()}\n{end}"
    current = RESULTS_FILE.read_text() if RESULTS_FILE.exists() else "# Benchmarks\n"
    if start in current and end in current:
        before, rest = current.split(start, 1)
        updated = before + section + rest.split(end, 1)[1]
    else:
        updated = current.rstrip("\n") + "\n\n" + section + "\n"
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(updated)
