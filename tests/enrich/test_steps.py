"""A batch enriched in steps (spaCy on one step while the previous one is decided) decides as one call would."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from services.enrich.dedupe.detector import ReprintDetector
from services.enrich.enricher import Enricher, EnrichResult
from services.enrich.entities.tagger import EntityTagger
from shared.db import make_engine, run_migrations
from shared.events import RawArticle
from tests.conftest import throwaway_database
from tests.enrich.conftest import make_article, seed_article
from tests.enrich.variants import truncated, with_header_footer


@pytest.fixture
def second_engine(postgres_admin_url: str) -> Iterator[Engine]:
    with throwaway_database(postgres_admin_url) as url:
        run_migrations(url, service="enrich")
        engine = make_engine(url, application_name="newsflow-enrich-test")
        yield engine
        engine.dispose()


def _batch(seed_texts: dict[str, str]) -> list[RawArticle]:
    seeds = [seed_article(name, body, minute=i) for i, (name, body) in enumerate(seed_texts.items())]
    copies = [
        make_article(f"padded-{s.source_file}", with_header_footer(s.body), minute=10 + i) for i, s in enumerate(seeds)
    ]
    cut = [make_article(f"cut-{s.source_file}", truncated(s.body, 0.8), minute=20 + i) for i, s in enumerate(seeds)]
    batch = [*cut, *seeds, *copies]  # not in decision order: the enricher orders it
    return batch


def _by_article(results: list[EnrichResult]) -> dict[str, tuple[str | None, list[tuple[str, int]]]]:
    return {
        e.article.article_id: (
            e.duplicate.duplicate_of if e.duplicate else None,
            sorted((entity.id, entity.count) for entity in e.entities),
        )
        for r in results
        for e in r.articles
    }


def test_steps_decide_and_tag_as_one_call_would(
    tagger: EntityTagger, engine: Engine, second_engine: Engine, seed_texts: dict[str, str]
) -> None:
    batch = _batch(seed_texts)
    whole = Enricher(tagger, ReprintDetector(engine)).enrich(batch)
    stepped: list[EnrichResult] = []
    enricher = Enricher(tagger, ReprintDetector(second_engine))
    enricher.enrich_in_steps(batch, stepped.append, step_articles=4)
    enricher.close()

    assert [len(r.articles) for r in stepped] == [4, 4, 4, 3]
    published = [e.article for r in stepped for e in r.articles]
    assert published == sorted(batch, key=lambda a: (a.ingested_at, a.article_id))
    assert _by_article(stepped) == _by_article([whole])
    originals = {a for a, (link, _) in _by_article(stepped).items() if link is None}
    assert len(originals) == 5  # the seeds; every padded and cut copy links to one


def test_a_failing_step_stops_the_batch_and_the_enricher_goes_on(
    tagger: EntityTagger, engine: Engine, seed_texts: dict[str, str]
) -> None:
    batch = _batch(seed_texts)
    enricher = Enricher(tagger, ReprintDetector(engine))
    calls: list[int] = []

    def publish(result: EnrichResult) -> None:
        calls.append(len(result.articles))
        if len(calls) == 2:
            raise RuntimeError("broker refused the step")

    with pytest.raises(RuntimeError, match="broker refused"):
        enricher.enrich_in_steps(batch, publish, step_articles=4)
    assert calls == [4, 4]  # nothing after the failed step was published

    redone: list[EnrichResult] = []
    enricher.enrich_in_steps(batch, redone.append, step_articles=4)  # the loop's retry
    assert sum(len(r.articles) for r in redone) == len(batch)
    enricher.close()
