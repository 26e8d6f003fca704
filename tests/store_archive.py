"""Fixtures for the store's and the read API's tests: databases with the store's schema, filled
through the real handler, and a read API client over one (registered by ``tests/conftest.py``).

Only the store's own migrations are applied (the store must not depend on another service's
schema). The read-only API tests share one seeded database per module; tests that write get a
fresh database each.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from services.api.app import create_app
from services.store.consumer import make_article_handler
from services.store.db.session import make_writer_engine
from shared.config import Settings
from shared.db import run_migrations
from shared.events import EnrichedArticle
from tests.conftest import throwaway_database
from tests.store.seed_events import deliveries, seed_events


@contextmanager
def stored_archive(postgres_admin_url: str, prefix: str, events: Sequence[EnrichedArticle]) -> Iterator[str]:
    """A throwaway database with the store's schema and ``events`` stored by the real handler."""
    with throwaway_database(postgres_admin_url, prefix=prefix) as url:
        run_migrations(url, service="store")
        engine = make_writer_engine(Settings(database_url=url))
        make_article_handler(engine)(deliveries(events))
        engine.dispose()
        yield url


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
    with stored_archive(postgres_admin_url, "newsflow_store", seed_events()) as url:
        yield url


@pytest.fixture(scope="module")
def client(seeded_database_url: str) -> Iterator[TestClient]:
    """The read API over the module's seeded database."""
    # GET /stream ends after 0.2 s: a test client reads a response to its end.
    settings = Settings(database_url=seeded_database_url, stream_max_seconds=0.2)
    with TestClient(create_app(settings)) as test_client:
        yield test_client
