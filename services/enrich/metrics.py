"""The enrich service's Prometheus metrics (``newsflow_enrich_*``); labels are bounded enums."""

from __future__ import annotations

from typing import Literal

from prometheus_client import Counter, Gauge, Histogram

from shared.events import ENTITY_TYPES
from shared.metrics import init_labels

# seen_before: an article the reprint index already held (a replay, a re-ingest of the same file,
# a redelivery); its link was decided the first time, and its entities were counted then.
Outcome = Literal["original", "exact_duplicate", "reprint", "seen_before"]
OUTCOMES: tuple[Outcome, ...] = ("original", "exact_duplicate", "reprint", "seen_before")
EntitySource = Literal["model", "copy"]
ENTITY_SOURCES: tuple[EntitySource, ...] = ("model", "copy")
# queued: published with its head's entities, full tagging deferred; completed: republished with all.
DeferredOutcome = Literal["queued", "completed"]
DEFERRED_OUTCOMES: tuple[DeferredOutcome, ...] = ("queued", "completed")

ARTICLES = Counter("newsflow_enrich_articles_total", "Articles enriched and published.")
OUTCOME = Counter("newsflow_enrich_outcome_total", "Articles by reprint-detection outcome.", ["outcome"])
CORRECTIONS = Counter(
    "newsflow_enrich_corrections_total",
    "Earlier articles republished because their group got an earlier original.",
)
ENTITIES = Counter(
    "newsflow_enrich_entities_total",
    "Entity tags of articles enriched for the first time (one per article and entity; replays and redeliveries "
    "of an article are not counted again).",
    ["type"],
)
ENTITY_SOURCE = Counter(
    "newsflow_enrich_entity_source_total",
    "Articles by where their entities came from: tagged by the model, or taken from the article they copy.",
    ["source"],
)
NER_SECONDS = Histogram(
    "newsflow_enrich_ner_seconds",
    "Time to find one batch's entities: spaCy and the entity rules, or copied from the articles they copy.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32),
)
DEDUPE_SECONDS = Histogram(
    "newsflow_enrich_dedupe_seconds",
    "Time to decide one batch against the reprint index (lock wait included).",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
# Long articles waiting for full tagging are the lag of consumer group newsflow-enrich-deferred
# (newsflow_consumer_lag); these count the work itself.
DEFERRED_ARTICLES = Counter(
    "newsflow_enrich_deferred_articles_total",
    "Long articles whose full entity tagging was deferred (queued) and finished (completed).",
    ["outcome"],
)
DEFERRED_PIECES = Counter(
    "newsflow_enrich_deferred_pieces_total", "Pieces of long articles tagged by the deferred tagger."
)
DEFERRED_PIECES_PENDING = Gauge(
    "newsflow_enrich_deferred_pieces_pending",
    "Pieces of the long article being tagged in full that are still to tag (0 when none is).",
)
BATCH_SIZE = Histogram(
    "newsflow_enrich_batch_size_articles",
    "Articles per handled batch.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)


def init_enrich_metrics() -> None:
    """Create every labelled series now, so dashboards show 0 rather than no data."""
    init_labels(OUTCOME, [(outcome,) for outcome in OUTCOMES])
    init_labels(ENTITIES, [(entity_type,) for entity_type in ENTITY_TYPES])
    init_labels(ENTITY_SOURCE, [(source,) for source in ENTITY_SOURCES])
    init_labels(DEFERRED_ARTICLES, [(outcome,) for outcome in DEFERRED_OUTCOMES])
