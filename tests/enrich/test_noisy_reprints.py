"""Scanned and rewritten copies through the durable index in a real Postgres (schema ``enrich``):
every variant kind linked, with its evidence; other versions and shared bios kept apart; a noisy
copy arriving first corrected; redeliveries deciding alike (two replicas: ``test_reprints``)."""

from __future__ import annotations

import zlib
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text

from services.enrich.dedupe.detector import DedupeItem, ReprintDetector
from services.enrich.dedupe.fingerprint import TextFingerprint
from services.enrich.dedupe.noisy import NoisyLinkModel
from services.enrich.enricher import Enricher
from shared.db import make_engine
from shared.events import EnrichedArticle, RawArticle, utcnow
from tests.enrich.conftest import make_article, seed_article
from tests.enrich.variants import (
    BIO,
    another_version,
    excerpt,
    rewritten_copy,
    scanned_copy,
    with_local_lede,
)

VARIANTS: dict[str, tuple[Callable[[str], str], str]] = {
    # kind: (how the copy is made, the evidence expected to link it)
    "excerpt": (excerpt, "shared_passages"),
    "lede": (with_local_lede, "shared_passages"),
    "ocr": (scanned_copy, "noisy_text"),
    "rewrite": (rewritten_copy, "noisy_text"),
}


def _item(article: RawArticle) -> DedupeItem:
    event = EnrichedArticle(article=article, content_hash="-", enriched_at=utcnow())
    return DedupeItem(
        article.article_id, article.ingested_at, TextFingerprint.of(article.body), zlib.compress(event.to_bytes())
    )


def _seeds(seed_texts: dict[str, str]) -> list[RawArticle]:
    return [seed_article(name, text, minute=i) for i, (name, text) in enumerate(seed_texts.items())]


def test_every_variant_kind_links_to_its_original_with_its_evidence(engine: Engine, seed_texts: dict[str, str]) -> None:
    seeds = _seeds(seed_texts)
    detector = ReprintDetector(engine)
    detector.decide([_item(s) for s in seeds])
    copies = {
        (seed.article_id, kind): make_article(f"{kind}-{seed.source_file}", make(seed.body), minute=10 + i)
        for i, seed in enumerate(seeds)
        for kind, (make, _) in VARIANTS.items()
    }
    links = detector.decide([_item(copy) for copy in copies.values()]).links
    for (original, kind), copy in copies.items():
        link = links[copy.article_id]
        assert link is not None and link.duplicate_of == original, (kind, copy.source_file)
        assert link.evidence is not None and link.evidence.method == VARIANTS[kind][1], (kind, link.evidence)
        if link.evidence.method == "noisy_text":
            assert link.evidence.confidence is not None and link.evidence.confidence >= NoisyLinkModel.load().threshold
            assert link.similarity == pytest.approx(link.evidence.letter_overlap, abs=1e-4)


def test_other_versions_and_shared_bios_stay_apart(engine: Engine, seed_texts: dict[str, str]) -> None:
    seeds = _seeds(seed_texts)
    detector = ReprintDetector(engine)
    detector.decide([_item(s) for s in seeds])
    versions = [
        make_article(f"version-{i}.txt", another_version(seed.body, seeds[(i + 1) % len(seeds)].body), minute=20 + i)
        for i, seed in enumerate(seeds)
    ]
    scanned_versions = [
        make_article(f"scanned-version-{i}.txt", scanned_copy(v.body), minute=30 + i) for i, v in enumerate(versions)
    ]
    stories = [
        "Shares in the carmaker rose 4% after it reported record quarterly deliveries and raised its outlook.",
        "The central bank held interest rates at 5.25% and signalled that cuts were unlikely before autumn.",
        "Wheat prices fell for a third week as rain in the plains eased fears of a poor harvest this year.",
    ]
    # Scanned, so no paragraph is ever identical: the bio never becomes known boilerplate.
    bios = [
        make_article(f"bio-{i}.txt", scanned_copy(f"{story}\n\n{BIO}", seed=i), minute=40 + i)
        for i, story in enumerate(stories)
    ]
    for article in [*versions, *bios]:
        assert detector.decide([_item(article)]).links[article.article_id] is None, article.source_file
    for version, scan in zip(versions, scanned_versions, strict=True):
        # A scan of another version is a copy of that version, not of the story it rewrote.
        link = detector.decide([_item(scan)]).links[scan.article_id]
        assert link is not None and link.duplicate_of == version.article_id, scan.source_file


def test_a_noisy_copy_processed_before_its_original_is_corrected(
    enricher: Enricher, seed_texts: dict[str, str]
) -> None:
    seed = _seeds(seed_texts)[1]
    scan = make_article("scan.txt", scanned_copy(seed.body), title="Scanned", minute=30)
    rewrite = make_article("rewrite.txt", rewritten_copy(seed.body), title="Update", minute=31)
    first = enricher.enrich([scan])
    assert first.articles[0].duplicate is None  # the earliest seen so far
    second = enricher.enrich([rewrite])
    link = second.articles[0].duplicate
    assert link is not None and link.duplicate_of == scan.article_id  # a scan and a rewrite: one article
    late = enricher.enrich([seed])  # ingested at minute 1: earlier than both copies
    assert late.articles[0].duplicate is None
    corrected = {event.article.article_id: event.duplicate for event in late.corrections}
    assert set(corrected) == {scan.article_id, rewrite.article_id}
    for article_id, duplicate in corrected.items():
        assert duplicate is not None and duplicate.duplicate_of == seed.article_id, article_id
        assert duplicate.evidence is not None and duplicate.evidence.method == "noisy_text"
    # The scan joined the seed's group on evidence measured against the seed itself.
    scan_link = corrected[scan.article_id]
    assert scan_link is not None and scan_link.evidence is not None
    assert scan_link.evidence.matched_article == seed.article_id


def test_a_redelivered_noisy_copy_keeps_its_link_and_evidence(enrich_db_url: str, seed_texts: dict[str, str]) -> None:
    seed = _seeds(seed_texts)[3]
    scan = make_article("scan.txt", scanned_copy(seed.body, misread=0.04), minute=10)
    first_engine = make_engine(enrich_db_url)
    try:
        first = ReprintDetector(first_engine).decide([_item(seed), _item(scan)]).links[scan.article_id]
    finally:
        first_engine.dispose()
    assert first is not None and first.evidence is not None and first.evidence.method == "noisy_text"
    restarted = make_engine(enrich_db_url)  # a new process, same database
    try:
        again = ReprintDetector(restarted).decide([_item(scan)]).links[scan.article_id]
        assert again == first
    finally:
        restarted.dispose()


def test_articles_indexed_before_their_words_were_kept_still_match_noisy_copies(
    engine: Engine, seed_texts: dict[str, str]
) -> None:
    seed = _seeds(seed_texts)[0]
    detector = ReprintDetector(engine)
    detector.decide([_item(seed)])
    with engine.begin() as conn:  # as a row written before migration enrich_0004
        conn.execute(text("UPDATE enrich.articles SET content_words = NULL, evidence = NULL"))
    scan = make_article("scan.txt", scanned_copy(seed.body), minute=10)
    link = detector.decide([_item(scan)]).links[scan.article_id]
    assert link is not None and link.duplicate_of == seed.article_id
    assert link.evidence is not None and link.evidence.method == "noisy_text"
