"""Fixtures for the store's tests: databases with the store's schema, filled through the real handler.

Only the store's own migrations are applied (the store must not depend on another service's
schema). The read-only API tests share one seeded database per module; tests that write get a
fresh database each.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from services.store.api.app import create_app
from services.store.consumer import make_article_handler
from services.store.db.session import make_writer_engine
from shared.config import Settings
from shared.consumer import Delivery
from shared.db import run_migrations
from shared.events import TOPIC_ENRICHED, EnrichedArticle
from tests.conftest import throwaway_database
from tests.store.seed_events import seed_events

TABLES = ("articles", "entities", "article_entities", "article_listings", "dead_letters")


def deliveries(events: Sequence[EnrichedArticle], first_offset: int = 0) -> list[Delivery[EnrichedArticle]]:
    """Events as the consumer loop hands them to a handler."""
    return [Delivery(event, TOPIC_ENRICHED, 0, first_offset + i, 0) for i, event in enumerate(events)]


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every store table, in a stable order (the generated tsvector left out)."""
    result: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in TABLES:
            columns = [
                row[0]
                for row in conn.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_name = :t AND column_name <> 'search' ORDER BY ordinal_position"
                    ),
                    {"t": table},
                )
            ]
            listed = ", ".join(columns)
            # As text: a json column has no ordering operator.
            order = f"{columns[0]}, {columns[1]}::text"
            result[table] = [tuple(row) for row in conn.execute(text(f"SELECT {listed} FROM {table} ORDER BY {order}"))]
    return result


@pytest.fixture
def store_database_url(database_url: str) -> str:
    run_migrations(database_url, service="store")
    return database_url


@pytest.fixture
def writer(store_database_url: str) -> Iterator[Engine]:
    engine = make_writer_engine(Settings(database_url=store_database_url))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def seeded_database_url(postgres_admin_url: str) -> Iterator[str]:
    """One database per module with the store's schema and the seed events stored by the real handler."""
    with throwaway_database(postgres_admin_url, prefix="newsflow_store") as url:
        run_migrations(url, service="store")
        engine = make_writer_engine(Settings(database_url=url))
        make_article_handler(engine)(deliveries(seed_events()))
        engine.dispose()
        yield url


@pytest.fixture(scope="module")
def client(seeded_database_url: str) -> Iterator[TestClient]:
    # GET /stream ends after 0.2 s: a test client reads a response to its end.
    settings = Settings(database_url=seeded_database_url, stream_max_seconds=0.2)
    with TestClient(create_app(settings)) as test_client:
        yield test_client
