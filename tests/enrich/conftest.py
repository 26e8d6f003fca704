"""Fixtures for the enrich tests: the spaCy model (loaded once), raw-article builders, an
enrich-migrated database and enrichers wired to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from spacy.language import Language
from sqlalchemy import Engine

from services.enrich.dedupe.detector import ReprintDetector
from services.enrich.enricher import Enricher
from services.enrich.entities.model import load_ner
from services.enrich.entities.tagger import EntityTagger
from shared.config import Settings
from shared.db import make_engine, run_migrations
from shared.events import RawArticle
from shared.identity import article_id, sha256_hex
from tests.conftest import SEEDS_DIR

BASE_TIME = datetime(2025, 2, 4, 9, 0, tzinfo=UTC)

ArticleFactory = Callable[..., RawArticle]


@pytest.fixture(scope="session")
def nlp() -> Language:
    """The model enrich runs by default (the bundled one, unless NEWSFLOW_SPACY_MODEL says otherwise)."""
    return load_ner(Settings().spacy_model)


@pytest.fixture(scope="session")
def tagger(nlp: Language) -> EntityTagger:
    return EntityTagger(nlp)


def make_article(
    source_file: str, body: str, *, title: str | None = None, minute: float = 0.0, part: int = 0
) -> RawArticle:
    """A raw event as ingest would publish it for a file with this text."""
    digest = sha256_hex(f"{title}\n{body}".encode())
    at = BASE_TIME + timedelta(minutes=minute)
    return RawArticle(
        article_id=article_id(source_file, digest, part),
        source_file=source_file,
        part=part,
        sha256=digest,
        size_bytes=len(body.encode()),
        content_type="text",
        title=title,
        body=body,
        received_at=at,
        ingested_at=at,
    )


@pytest.fixture(scope="session")
def seed_texts() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(SEEDS_DIR.glob("*.txt"))}


def seed_article(name: str, text: str, minute: float = 0.0) -> RawArticle:
    """A seed as an event: its first line as title (as ingest's plain-text parser does), the rest as body."""
    lines = text.strip().split("\n", 1)
    title, body = (lines[0].strip(), lines[1]) if len(lines) == 2 and lines[1].strip() else (None, text)
    return make_article(name, body, title=title, minute=minute)


@pytest.fixture
def enrich_db_url(database_url: str) -> str:
    """A fresh database with the enrich schema only (independent of the other services' migrations)."""
    run_migrations(database_url, service="enrich")
    return database_url


@pytest.fixture
def engine(enrich_db_url: str) -> Iterator[Engine]:
    engine = make_engine(enrich_db_url, application_name="newsflow-enrich-test")
    yield engine
    engine.dispose()


@pytest.fixture
def enricher(tagger: EntityTagger, engine: Engine) -> Enricher:
    return Enricher(tagger, ReprintDetector(engine))


def read_seed(name_prefix: str) -> tuple[str, str]:
    path = next(Path(SEEDS_DIR).glob(f"{name_prefix}_*.txt"))
    return path.name, path.read_text(encoding="utf-8")
