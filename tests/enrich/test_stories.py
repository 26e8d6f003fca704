"""Story assignment through the Enricher and the durable index in a real Postgres (schema ``enrich``).

Articles are built the way ingest builds them (``parse_file`` + ``raw_articles``), so titles and
published dates are the ones production sees (seed 001 is dated three months after 002-004; 000
is undated).
"""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from services.enrich.dedupe.detector import ReprintDetector
from services.enrich.enricher import Enricher
from services.enrich.entities.tagger import EntityTagger
from services.enrich.stories.window import Span, gap_days, required_similarity
from services.ingest.articles import raw_articles
from services.ingest.parsing.formats import parse_file
from shared.db import make_engine, run_migrations
from shared.events import RawArticle
from shared.identity import sha256_hex
from tests.conftest import EVAL_DEV_DIR, SEEDS_DIR, throwaway_database
from tests.enrich.conftest import make_article
from tests.enrich.variants import edited, with_header_footer

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
BBC_SAMPLE = 120
_MAX_BYTES = 10 * 1024 * 1024


def ingested(path: Path, at: datetime = AT) -> RawArticle:
    data = path.read_bytes()
    parsed = parse_file(path.name, data, max_bytes=_MAX_BYTES)
    (article,) = raw_articles(
        parsed, source_file=path.name, sha256=sha256_hex(data), size_bytes=len(data), received_at=at
    )
    return article.model_copy(update={"ingested_at": at})


def _stories(enricher: Enricher, articles: list[RawArticle], batch: int = 16) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for i in range(0, len(articles), batch):
        for event in enricher.enrich(articles[i : i + batch]).events:
            found[event.article.source_file] = event.story_id
    return found


@pytest.fixture(scope="module")
def seeds() -> list[RawArticle]:
    return [ingested(p) for p in sorted(SEEDS_DIR.glob("*.txt"))]


def test_the_five_seeds_form_one_story_in_any_order(
    tagger: EntityTagger, engine: Engine, seeds: list[RawArticle]
) -> None:
    assert [s.published_at is not None for s in seeds] == [False, True, True, True, True]
    for attempt, order in enumerate((seeds, seeds[::-1])):
        # A fresh index per order: the same table, different ids (the files renamed per attempt).
        renamed = [a.model_copy(update={"article_id": f"{attempt}-{a.article_id}"}) for a in order]
        stories = _stories(Enricher(tagger, ReprintDetector(engine)), renamed, batch=1)
        assert len(set(stories.values())) == 1, stories
        assert None not in stories.values()


def test_a_reprint_of_any_seed_joins_and_bbc_articles_do_not(
    tagger: EntityTagger, engine: Engine, seeds: list[RawArticle]
) -> None:
    docs = EVAL_DEV_DIR / "dedupe" / "docs"
    if not docs.is_dir():
        pytest.skip(f"eval-dev data not found at {docs}")
    sample = random.Random(8).sample(sorted(docs.glob("*.txt")), BBC_SAMPLE)
    bbc = [ingested(p) for p in sample]
    enricher = Enricher(tagger, ReprintDetector(engine))
    # BBC articles before and after the seeds, and the reprints last.
    stories = _stories(enricher, bbc[: BBC_SAMPLE // 2] + seeds + bbc[BBC_SAMPLE // 2 :])
    seed_story = stories[seeds[0].source_file]
    assert seed_story is not None
    assert {stories[s.source_file] for s in seeds} == {seed_story}
    assert [p.name for p in sample if stories[p.name] == seed_story] == []

    reprints = [
        make_article(f"reprint-of-{s.source_file}", with_header_footer(edited(s.body)), title="Wire copy").model_copy(
            update={"ingested_at": AT + timedelta(hours=1)}
        )
        for s in seeds
    ]
    events = enricher.enrich(reprints).articles
    assert all(e.duplicate is not None for e in events)
    assert {e.story_id for e in events} == {seed_story}

    # Redelivery changes nothing: same stories, no new members.
    again = {e.article.source_file: e.story_id for e in enricher.enrich(seeds).articles}
    assert again == {s.source_file: seed_story for s in seeds}
    with engine.connect() as conn:
        members = conn.execute(text("SELECT count(*) FROM enrich.story_members WHERE story_id = :s"), {"s": seed_story})
        assert members.scalar_one() == len(seeds) + len(reprints)


def test_a_reprint_processed_before_its_original_ends_in_the_original_story(
    tagger: EntityTagger, engine: Engine, seeds: list[RawArticle]
) -> None:
    enricher = Enricher(tagger, ReprintDetector(engine))
    first = _stories(enricher, seeds[1:])
    story = first[seeds[1].source_file]
    assert set(first.values()) == {story}
    # A copy of seed 000 ingested later but processed first, then 000 itself (ingested earlier).
    copy = make_article("copy-of-000.txt", with_header_footer(seeds[0].body), minute=0)
    copy = copy.model_copy(update={"ingested_at": AT + timedelta(hours=1)})
    assert enricher.enrich([copy]).articles[0].story_id == story
    result = enricher.enrich([seeds[0]])
    assert result.articles[0].story_id == story
    assert [(c.article.article_id, c.story_id) for c in result.corrections] == [(copy.article_id, story)]


def test_the_time_window_widens_with_similarity() -> None:
    story = Span(datetime(2024, 11, 3).date(), datetime(2024, 11, 8).date(), AT, AT)
    inside = Span.of_article(datetime(2024, 11, 5).date(), AT)
    months_later = Span.of_article(datetime(2025, 2, 4).date(), AT)
    undated = Span.of_article(None, AT + timedelta(hours=2))
    assert gap_days(inside, story) == 0
    assert gap_days(months_later, story) == 88
    # Undated: compared on ingest times, which here are two hours apart.
    assert gap_days(undated, story) == pytest.approx(2 / 24)
    near, far = required_similarity(0), required_similarity(88)
    assert near is not None and far is not None and far > near
    assert required_similarity(400) is None


def _partition(stories: dict[str, str | None]) -> set[frozenset[str]]:
    groups: dict[str | None, set[str]] = {}
    for name, story in stories.items():
        groups.setdefault(story, set()).add(name)
    return {frozenset(members) for members in groups.values()}


@pytest.fixture(scope="module")
def mixed_news(seeds: list[RawArticle]) -> list[RawArticle]:
    """The seeds among 60 BBC articles (some of them reprints of each other), one stream."""
    docs = EVAL_DEV_DIR / "dedupe" / "docs"
    if not docs.is_dir():
        pytest.skip(f"eval-dev data not found at {docs}")
    bbc = [ingested(p) for p in random.Random(21).sample(sorted(docs.glob("*.txt")), 60)]
    return bbc[:30] + seeds + bbc[30:]


def test_replicas_taking_turns_decide_as_one_enricher_would(
    tagger: EntityTagger, postgres_admin_url: str, mixed_news: list[RawArticle]
) -> None:
    """Two replicas sharing the index, each taking every other batch, group the stream exactly as one."""
    batches = [mixed_news[i : i + 8] for i in range(0, len(mixed_news), 8)]
    decided: list[dict[str, str | None]] = []
    for replicas in (1, 2):
        with throwaway_database(postgres_admin_url) as url:
            run_migrations(url, service="enrich")
            engines = [make_engine(url, application_name=f"replica-{i}") for i in range(replicas)]
            try:
                enrichers = [Enricher(tagger, ReprintDetector(e)) for e in engines]
                found: dict[str, str | None] = {}
                for index, batch in enumerate(batches):
                    found.update(_stories(enrichers[index % replicas], batch))
                decided.append(found)
            finally:
                for e in engines:
                    e.dispose()
    one, two = decided
    assert one == two  # the same story, by id, for every article
    assert len(_partition(one)) < len(mixed_news)  # and the stream did form stories (the seeds at least)


def test_two_replicas_deciding_at_once_keep_the_seeds_one_story(
    tagger: EntityTagger, enrich_db_url: str, mixed_news: list[RawArticle]
) -> None:
    """Replicas deciding at the same time serialise on the index lock: no story is split or doubled."""
    seeds = [a for a in mixed_news if a.source_file[:3].isdigit()]
    halves = [mixed_news[0::2], mixed_news[1::2]]  # the seeds end up on both replicas
    assert all(any(s in half for s in seeds) for half in halves)
    engines = [make_engine(enrich_db_url, application_name=f"replica-{i}") for i in range(2)]
    barrier = threading.Barrier(2)

    def replica(index: int) -> dict[str, str | None]:
        enricher = Enricher(tagger, ReprintDetector(engines[index]))
        barrier.wait()
        return _stories(enricher, halves[index], batch=4)

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            decided = [future.result(timeout=300) for future in [pool.submit(replica, i) for i in range(2)]]
    finally:
        for e in engines:
            e.dispose()
    found = decided[0] | decided[1]
    assert len(found) == len(mixed_news)
    seed_stories = {found[s.source_file] for s in seeds}
    assert len(seed_stories) == 1 and None not in seed_stories
    assert [a.source_file for a in mixed_news if a not in seeds and found[a.source_file] in seed_stories] == []


def test_upgrading_an_index_of_unstemmed_terms_restarts_its_statistics_and_keeps_members(
    tagger: EntityTagger, database_url: str, seeds: list[RawArticle]
) -> None:
    """enrich_0003: old term statistics are cleared (their keys are never produced again), memberships stay."""
    run_migrations(database_url, service="enrich", revision="enrich_0002")
    old = make_engine(database_url)
    with old.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO enrich.stories (story_id, terms, term_weights, entity_ids, entity_weights, actors, "
                "originals, first_seen, last_seen) "
                "VALUES ('old', '{1,2}', '{0.6,0.8}', '{}', '{}', '{}', 1, now(), now())"
            )
        )
        conn.execute(text("INSERT INTO enrich.story_members VALUES ('old-article', 'old')"))
        conn.execute(text("INSERT INTO enrich.story_keys VALUES (1, 'old', now())"))
        conn.execute(text("INSERT INTO enrich.story_terms VALUES (1, 5)"))
        conn.execute(text("UPDATE enrich.story_documents SET documents = 5"))
    old.dispose()
    run_migrations(database_url, service="enrich")
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM enrich.story_keys")).scalar_one() == 0
            assert conn.execute(text("SELECT count(*) FROM enrich.story_terms")).scalar_one() == 0
            assert conn.execute(text("SELECT documents FROM enrich.story_documents")).scalar_one() == 0
            row = conn.execute(text("SELECT terms, lead_terms FROM enrich.stories WHERE story_id = 'old'")).one()
            assert (row.terms, row.lead_terms) == ([], [])
            members = conn.execute(text("SELECT article_id, story_id FROM enrich.story_members")).all()
            assert [tuple(m) for m in members] == [("old-article", "old")]
        # The upgraded index groups new articles as usual.
        stories = _stories(Enricher(tagger, ReprintDetector(engine)), seeds)
        assert len(set(stories.values())) == 1
    finally:
        engine.dispose()
    run_migrations(database_url, service="enrich", revision="enrich_0002", downgrade=True)
    run_migrations(database_url, service="enrich")
