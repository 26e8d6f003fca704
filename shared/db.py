"""Database connections (SQLAlchemy 2.x over psycopg 3) and Alembic migrations, for every service.

Each service that keeps state owns its schema and its Alembic history (``services/*/migrations``);
this module only knows how to connect and how to run a history against the configured database.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, text
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

# Each service's Alembic history and the schema it owns, in the order they are applied.
MIGRATION_SETS: dict[str, Path] = {
    "store": Path(__file__).resolve().parent.parent / "services" / "store" / "migrations",
    "enrich": Path(__file__).resolve().parent.parent / "services" / "enrich" / "migrations",
}


def int_array(values: Iterable[int]) -> str:
    """A Postgres array literal (``{1,2,3}``) of integers, for ``CAST(:param AS integer[])``.

    psycopg dumps a Python list element by element in Python (0.67 ms of CPU for 500 ints,
    measured); the literal is built in C (0.07 ms). Reprint and story indexes send thousands of
    shingle and term hashes per batch, so this is a visible share of enrich's CPU.
    """
    return "{" + ",".join(map(str, map(int, values))) + "}"


def sqlalchemy_url(url: str) -> str:
    """Accept a plain libpq URL (postgresql://, postgres://) and pick the psycopg 3 driver."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url)
    if parsed.drivername in ("postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """The same database as a plain libpq URL (no SQLAlchemy driver name), for psycopg itself."""
    parsed = make_url(sqlalchemy_url(url)).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


CONNECT_TIMEOUT_SECONDS = 5


def connect_args(*, application_name: str, read_only: bool = False) -> dict[str, Any]:
    """psycopg's connection arguments for every service connection; ``read_only`` makes every transaction read-only."""
    args: dict[str, Any] = {"application_name": application_name, "connect_timeout": CONNECT_TIMEOUT_SECONDS}
    if read_only:
        args["options"] = "-c default_transaction_read_only=on"
    return args


def make_engine(url: str, *, read_only: bool = False, application_name: str = "newsflow", **kwargs: Any) -> Engine:
    """An engine with health-checked pooled connections; ``read_only`` makes every transaction read-only."""
    return create_engine(
        sqlalchemy_url(url),
        pool_pre_ping=True,
        connect_args=connect_args(application_name=application_name, read_only=read_only),
        **kwargs,
    )


def run_migrations(url: str, *, service: str, revision: str = "head", downgrade: bool = False) -> None:
    """Upgrade (or downgrade) one service's schema to ``revision``."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATION_SETS[service]))
    config.set_main_option("version_table", f"alembic_version_{service}")
    config.attributes["database_url"] = sqlalchemy_url(url)
    if downgrade:
        command.downgrade(config, revision)
    else:
        command.upgrade(config, revision)
    log.info("migrations applied", extra={"service": service, "revision": revision, "downgrade": downgrade})


def migrate_all(url: str) -> None:
    for service in MIGRATION_SETS:
        run_migrations(url, service=service)


def run_alembic_env(target_metadata: MetaData | None) -> None:
    """The body of every ``migrations/env.py``: online migrations against the configured URL."""
    from alembic import context

    config = context.config
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if not url:
        from shared.config import get_settings

        url = sqlalchemy_url(get_settings().require_database())
    version_table = config.get_main_option("version_table") or "alembic_version"
    engine = create_engine(url)
    with engine.connect() as connection:
        # Serialise concurrent migrators (replicas starting together) on one advisory lock.
        connection.execute(text("SELECT pg_advisory_lock(724113)"))
        connection.commit()
        try:
            context.configure(connection=connection, target_metadata=target_metadata, version_table=version_table)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(724113)"))
            connection.commit()
    engine.dispose()
