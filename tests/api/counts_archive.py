"""A generated archive for the count routes' tests, and the plain-SQL reference they are checked against.

The archive (``generated_events``) has what the seeds lack in number: reprints of originals (with
their own entities and sources), undated articles spread over several days and hours of ingest,
one source in two spellings, articles without a source or a story, and names the store folds
into one entity ("Trump" into "Donald Trump"; "Jordan" the person and the place). It is random
but seeded: the same every run.

``reference_where`` is the filters written plainly (no registry, no planner), for the tests'
own GROUP BYs.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.store.db.models import TEXT_SEARCH_CONFIG
from shared.config import Settings
from shared.events import DuplicateLink, EnrichedArticle, EntityRef, EntityType
from shared.identity import entity_id, sha256_hex
from tests.store.seed_events import BASE_TIME, text_article
from tests.store_archive import stored_archive

_ENTITIES: list[tuple[EntityType, str]] = [
    ("PERSON", "Donald Trump"),
    ("PERSON", "Trump"),
    ("PERSON", "Imran Khan"),
    ("PERSON", "Jordan"),
    ("LOCATION", "Jordan"),
    ("LOCATION", "Islamabad"),
    ("ORG", "PTI"),
]
# "Reuters" and "REUTERS" are one source in any case; None: no source credited.
_SOURCES = ["Reuters", "REUTERS", "AP", "AFP", "IANS", None]
_STORIES = ["story-a", "story-b", "story-c", None]
_WORDS = ["summit", "market", "election", "flood"]
GENERATED_ARTICLES = 80


def _ref(entity_type: EntityType, name: str) -> EntityRef:
    return EntityRef(id=entity_id(entity_type, name), name=name, type=entity_type, mentions=[name], count=1)


def generated_events(seed: int = 27, count: int = GENERATED_ARTICLES) -> list[EnrichedArticle]:
    """Originals and reprints over ten publication days (a fifth undated), ingested an hour and a half apart."""
    rng = random.Random(seed)
    events: list[EnrichedArticle] = []
    for n in range(count):
        words = rng.sample(_WORDS, 2)
        body = f"Article {n}: the {words[0]} and the {words[1]}, reported."
        ingested = BASE_TIME + timedelta(minutes=90 * n)
        published = None if rng.random() < 0.2 else date(2025, 1, 1) + timedelta(days=rng.randrange(10))
        originals = [e for e in events if e.duplicate is None]
        original = rng.choice(originals) if originals and rng.random() < 0.25 else None
        entities = [_ref(t, name) for t, name in rng.sample(_ENTITIES, rng.randrange(0, 4))]
        events.append(
            EnrichedArticle(
                article=text_article(
                    f"generated/{n:04d}.txt" if count > 1000 else f"generated/{n:03d}.txt",
                    body.encode(),
                    body=body,
                    title=f"Headline {n}",
                    published=published,
                    source=rng.choice(_SOURCES),
                    ingested=ingested,
                ),
                entities=entities,
                duplicate=(
                    DuplicateLink(duplicate_of=original.article.article_id, kind="reprint", similarity=0.9)
                    if original is not None
                    else None
                ),
                content_hash=sha256_hex(body.encode()),
                story_id=rng.choice(_STORIES),
                enriched_at=ingested + timedelta(seconds=1),
            )
        )
    return events


@pytest.fixture(scope="module")
def generated_database_url(postgres_admin_url: str) -> Iterator[str]:
    """A database of the module's own with the generated archive, stored by the real handler."""
    with stored_archive(postgres_admin_url, "newsflow_counts", generated_events()) as url:
        yield url


@pytest.fixture(scope="module")
def generated_client(generated_database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=generated_database_url))) as test_client:
        yield test_client


# The generated archive, larger, for the sampled counts: its 1/64 pilot slice holds some matches,
# so with a small sample size a search is counted on a slice of them.
LARGER_ARTICLES = 1_500
SAMPLE_ARTICLES = 60


@pytest.fixture(scope="module")
def larger_database_url(postgres_admin_url: str) -> Iterator[str]:
    with stored_archive(postgres_admin_url, "newsflow_facet_sample", generated_events(count=LARGER_ARTICLES)) as url:
        yield url


@pytest.fixture(scope="module")
def sampling_client(larger_database_url: str) -> Iterator[TestClient]:
    settings = Settings(database_url=larger_database_url, facet_sample_articles=SAMPLE_ARTICLES)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


# The archives the count tests run on: (client fixture, database fixture).
ARCHIVES = {"seeds": ("client", "seeded_database_url"), "generated": ("generated_client", "generated_database_url")}
# Per archive: filters that match something, alone and combined (q + entity, source + since).
FILTER_CASES: dict[str, list[dict[str, str]]] = {
    "seeds": [
        {},
        {"q": "nuclear", "entity": "Imran Khan"},
        {"source": "ians", "since": "2024-11-01"},
        {"type": "ORG"},
    ],
    "generated": [
        {},
        {"q": "summit", "entity": "Donald Trump"},
        {"source": "reuters", "since": "2025-01-04"},
        {"entity": "Jordan", "dated": "false"},
        {"story": "story-a", "until": "2025-01-06"},
    ],
}


def reference_where(params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The filters of ``params`` (query parameters as sent) as a plain condition on ``articles a``.

    An entity is given by its name in these tests: it stands for every row the store folded into
    the same root.
    """
    where = ["TRUE"]
    if params.get("include_duplicates") != "true":
        where.append("a.duplicate_of IS NULL")
    if "q" in params:
        where.append(f"a.search @@ websearch_to_tsquery('{TEXT_SEARCH_CONFIG}', %(q)s)")
    if "entity" in params:
        where.append(
            "a.article_id IN (SELECT ae.article_id FROM article_entities ae JOIN entities e ON e.id = ae.entity_id "
            "JOIN entities named ON lower(named.name) = lower(%(entity)s) "
            "WHERE coalesce(e.canonical_id, e.id) = coalesce(named.canonical_id, named.id))"
        )
    if "type" in params:
        where.append("a.article_id IN (SELECT ae.article_id FROM article_entities ae WHERE ae.entity_type = %(type)s)")
    if "source" in params:
        where.append("lower(a.source) = lower(%(source)s)")
    if "story" in params:
        where.append("a.story_id = %(story)s")
    if "since" in params:
        where.append("a.published_at >= %(since)s::date")
    if "until" in params:
        where.append("a.published_at <= %(until)s::date")
    if "dated" in params:
        where.append(f"a.published_at IS {'NOT ' if params['dated'] == 'true' else ''}NULL")
    return " AND ".join(where), dict(params)


def reference_rows(database_url: str, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """``sql`` (with ``{where}`` for the filters of ``params``) run plainly on the archive."""
    where, values = reference_where(params)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        return list(conn.execute(sql.format(where=where).encode(), values).fetchall())
