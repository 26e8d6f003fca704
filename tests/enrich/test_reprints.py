"""Reprint detection through the durable index in a real Postgres (schema ``enrich``)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text

from services.enrich.dedupe.detector import DedupeItem, ReprintDetector
from services.enrich.dedupe.fingerprint import TextFingerprint
from services.enrich.enricher import Enricher
from shared.db import make_engine
from shared.events import RawArticle
from tests.enrich.conftest import make_article, seed_article
from tests.enrich.variants import (
    BIO,
    curly_quotes,
    edited,
    hard_wrapped_crlf,
    rewritten_copy,
    scanned_copy,
    truncated,
    with_header_footer,
)


def _item(article: RawArticle) -> DedupeItem:
    return DedupeItem(article.article_id, article.ingested_at, TextFingerprint.of(article.body), b"x\x9c\x03\x00")


def _seeds(seed_texts: dict[str, str]) -> list[RawArticle]:
    return [seed_article(name, text, minute=i) for i, (name, text) in enumerate(seed_texts.items())]


def test_the_five_seeds_stay_distinct(engine: Engine, seed_texts: dict[str, str]) -> None:
    result = ReprintDetector(engine).decide([_item(a) for a in _seeds(seed_texts)])
    assert len(result.links) == 5
    assert all(link is None for link in result.links.values())


def test_reprint_variants_of_the_seeds_link_to_their_originals(engine: Engine, seed_texts: dict[str, str]) -> None:
    detector = ReprintDetector(engine)
    seeds = _seeds(seed_texts)
    detector.decide([_item(a) for a in seeds])
    variants = {
        "header_footer": with_header_footer,
        "typography": curly_quotes,
        "wrapped_crlf": hard_wrapped_crlf,
        "truncated_70": truncated,
        "edited": edited,
        "combined": lambda body: with_header_footer(hard_wrapped_crlf(edited(truncated(body, 0.8)))),
    }
    reprints, expected = [], {}
    for seed in seeds:
        for n, (name, make) in enumerate(variants.items()):
            copy = make_article(f"{name}-{seed.source_file}", make(seed.body), title="Another headline", minute=60 + n)
            reprints.append(copy)
            expected[copy.article_id] = (seed.article_id, name)
    links = detector.decide([_item(a) for a in reprints]).links
    for article_id, (original, variant) in expected.items():
        link = links[article_id]
        assert link is not None, f"{variant} copy not linked"
        assert link.duplicate_of == original, variant
        assert link.kind == ("exact" if variant in ("typography", "wrapped_crlf") else "reprint"), variant
        assert 0.7 <= link.similarity <= 1.0


def test_articles_sharing_a_long_bio_stay_distinct(engine: Engine) -> None:
    stories = [
        "Shares in the carmaker rose 4% after it reported record quarterly deliveries and raised its outlook.",
        "The central bank held interest rates at 5.25% and signalled that cuts were unlikely before autumn.",
        "Wheat prices fell for a third week as rain in the plains eased fears of a poor harvest this year.",
        "The airline said it would add twelve routes this summer and hire four hundred cabin crew members.",
        "Parliament passed the housing bill after a late-night session, sending it to the upper house.",
    ]
    articles = [make_article(f"bio-{i}.txt", f"{story}\n\n{BIO}", minute=i) for i, story in enumerate(stories)]
    detector = ReprintDetector(engine)
    # One at a time, so each sees the others in the index (the boilerplate count grows).
    links = {}
    for article in articles:
        links.update(detector.decide([_item(article)]).links)
    assert all(link is None for link in links.values())
    # A bio-carrying copy of a story is still that story's reprint.
    copy = make_article("bio-copy.txt", f"{stories[2]}\n\n{BIO}\n\nShared from our partners.", minute=30)
    link = detector.decide([_item(copy)]).links[copy.article_id]
    assert link is not None and link.duplicate_of == articles[2].article_id


def test_exact_duplicates_point_at_the_earliest_member(engine: Engine, seed_texts: dict[str, str]) -> None:
    seed = _seeds(seed_texts)[3]
    first = make_article("a.txt", seed.body, minute=1)
    second = make_article("b.txt", hard_wrapped_crlf(seed.body), minute=2)
    third = make_article("c.txt", seed.body.upper(), minute=3)
    links = ReprintDetector(engine).decide([_item(third), _item(first), _item(second)]).links
    assert links[first.article_id] is None
    for copy in (second, third):
        link = links[copy.article_id]
        assert link is not None and link.kind == "exact" and link.similarity == 1.0
        assert link.duplicate_of == first.article_id


def test_an_earlier_original_processed_late_takes_over_its_group(engine: Engine, seed_texts: dict[str, str]) -> None:
    seed = _seeds(seed_texts)[2]
    original = make_article("original.txt", seed.body, minute=0)
    copy_a = make_article("copy-a.txt", with_header_footer(truncated(seed.body)), minute=5)
    copy_b = make_article("copy-b.txt", edited(seed.body), minute=6)
    detector = ReprintDetector(engine)
    first = detector.decide([_item(copy_a), _item(copy_b)])
    assert first.links[copy_a.article_id] is None  # the earliest seen so far
    late = detector.decide([_item(original)])
    assert late.links[original.article_id] is None
    moved = {c.article_id: c.root_id for c in late.corrections}
    assert moved == {copy_a.article_id: original.article_id, copy_b.article_id: original.article_id}
    # Redelivery of a copy now reports the corrected link.
    again = detector.decide([_item(copy_b)]).links[copy_b.article_id]
    assert again is not None and again.duplicate_of == original.article_id


def test_the_index_is_durable_and_redelivery_is_idempotent(enrich_db_url: str, seed_texts: dict[str, str]) -> None:
    seed = _seeds(seed_texts)[1]
    copy = make_article("copy.txt", with_header_footer(seed.body), minute=10)
    first_engine = make_engine(enrich_db_url)
    ReprintDetector(first_engine).decide([_item(seed)])
    first_engine.dispose()
    restarted = make_engine(enrich_db_url)  # a new process, same database
    try:
        detector = ReprintDetector(restarted)
        link = detector.decide([_item(copy)]).links[copy.article_id]
        assert link is not None and link.duplicate_of == seed.article_id
        assert detector.decide([_item(copy)]).links[copy.article_id] == link
        with restarted.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM enrich.articles")).scalar() == 2
    finally:
        restarted.dispose()


def _syndicated(body: str) -> str:
    return with_header_footer(edited(body))


@pytest.mark.parametrize("make", [_syndicated, scanned_copy, rewritten_copy], ids=["syndicated", "ocr", "rewrite"])
def test_two_replicas_deciding_a_reprint_pair_at_once_link_it(
    enrich_db_url: str, seed_texts: dict[str, str], make: Callable[[str], str]
) -> None:
    seeds = _seeds(seed_texts)
    pairs = [
        (seed, make_article(f"copy-{seed.source_file}", make(seed.body), minute=10 + i)) for i, seed in enumerate(seeds)
    ]
    engines = [make_engine(enrich_db_url, application_name=f"replica-{i}") for i in range(2)]
    detectors = [ReprintDetector(e) for e in engines]
    results: dict[str, object] = {}
    barrier = threading.Barrier(2)

    def replica(index: int) -> None:
        barrier.wait()
        for pair in pairs:
            article = pair[index]  # replica 0 gets the originals, replica 1 the copies, at the same time
            results.update(detectors[index].decide([_item(article)]).links)

    threads = [threading.Thread(target=replica, args=(i,)) for i in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        with engines[0].connect() as conn:
            roots = dict(conn.execute(text("SELECT article_id, root_id FROM enrich.articles")).all())
    finally:
        for e in engines:
            e.dispose()
    for seed, copy in pairs:
        # Whichever replica decided first, the pair ends in one group under the earlier-ingested seed.
        assert roots[copy.article_id] == seed.article_id
        assert roots[seed.article_id] == seed.article_id


def test_enricher_publishes_entities_links_and_corrections(enricher: Enricher, seed_texts: dict[str, str]) -> None:
    seeds = _seeds(seed_texts)
    copy = make_article("copy.txt", with_header_footer(seeds[0].body), title="Reprinted", minute=-5)
    first = enricher.enrich([copy])
    assert first.articles[0].duplicate is None
    result = enricher.enrich(seeds)
    assert [e.article.article_id for e in result.articles] == [s.article_id for s in seeds]
    assert all(e.duplicate is None for e in result.articles[1:])
    assert all(e.content_hash and e.entities for e in result.articles)
    # The copy was ingested earlier than seed 000 (minute -5) so it stays the original; seed 000 links to it.
    assert result.articles[0].duplicate is not None
    assert result.articles[0].duplicate.duplicate_of == copy.article_id
    assert result.corrections == []
