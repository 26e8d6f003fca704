"""The enrich work for a batch, without Kafka: entities, reprint links, stories, enriched events.

Entities come first, outside any lock (the expensive part): copies of an article already tagged
take its entities, the rest go through spaCy (``batch_entities``). Reprint decisions then run
against the durable index under its lock (see ``dedupe.detector``), and story assignment right
after them in the same locked transaction (see ``stories.assigner``). A batch can be worked in
steps so that spaCy tags one step while the previous one is decided and published
(:meth:`Enricher.enrich_in_steps`). The result holds one event per article, plus corrections:
earlier articles whose group got an earlier original, to republish with their new link and story.
An article longer than ``head_chars`` is published with its head's entities and
``entities_complete=False``; the handler queues its full tagging (``deferred``).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from services.enrich import metrics
from services.enrich.batch_entities import BatchEntities
from services.enrich.dedupe.detector import DedupeItem, DedupeResult, ReprintDetector, decision_order
from services.enrich.dedupe.fingerprint import TextFingerprint
from services.enrich.dedupe.index import Regrouped, as_kind
from services.enrich.entities.tagger import EntityTagger
from services.enrich.stories import metrics as story_metrics
from services.enrich.stories.assigner import StoryAssigner, StoryItem, StoryResult
from shared.events import DuplicateLink, EnrichedArticle, EntityRef, RawArticle, utcnow


@dataclass(frozen=True)
class EnrichResult:
    """Events to publish for one batch."""

    articles: list[EnrichedArticle]
    corrections: list[EnrichedArticle]

    @property
    def events(self) -> list[EnrichedArticle]:
        return [*self.articles, *self.corrections]


class Enricher:
    """Tags entities, links reprints and assigns stories for batches of raw articles."""

    def __init__(
        self,
        tagger: EntityTagger,
        detector: ReprintDetector,
        *,
        stories: StoryAssigner | None = None,
        clock: Callable[[], datetime] = utcnow,
        reuse_copy_entities: bool = True,
        head_chars: int | None = None,
    ) -> None:
        self.tagger = tagger
        self.head_chars = head_chars
        self.detector = detector
        self.stories = stories or StoryAssigner()
        self.clock = clock
        self.reuse_copy_entities = reuse_copy_entities
        # Decides and publishes one step while the calling thread tags the next (enrich_in_steps).
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="enrich-decide")

    def enrich(self, batch: Sequence[RawArticle]) -> EnrichResult:
        """Enrich ``batch`` in one step and return its events (the caller publishes them)."""
        results: list[EnrichResult] = []
        self.enrich_in_steps(batch, results.append, step_articles=max(1, len(batch)))
        return EnrichResult(
            [event for r in results for event in r.articles], [event for r in results for event in r.corrections]
        )

    def enrich_in_steps(
        self, batch: Sequence[RawArticle], publish: Callable[[EnrichResult], None], *, step_articles: int
    ) -> None:
        """Enrich ``batch`` in steps of ``step_articles`` in decision order, handing each step's events to ``publish``.

        While one step is decided and published on the worker thread, spaCy tags the next one
        here, so the waits for Postgres and for the broker's acknowledgements overlap tagging
        (the Python work of both still shares the GIL: in-process, without those waits, steps of
        16, 32 and 64 ran at the same rate). Steps are decided one after another,
        in order, exactly as one call over the whole batch would decide them, and at most one is
        in flight. Returns once every step is published; raises the first failure, after the
        step in flight has finished (a retry never runs beside it).
        """
        if not batch:
            return
        metrics.BATCH_SIZE.observe(len(batch))
        ordered = sorted(batch, key=decision_order)
        fingerprints = {article.article_id: TextFingerprint.of(article.body) for article in ordered}
        entities = BatchEntities(
            self.tagger,
            self.detector,
            ordered,
            [fingerprints[a.article_id] for a in ordered],
            reuse_copies=self.reuse_copy_entities,
            head_chars=self.head_chars,
        )
        in_flight: Future[None] | None = None
        try:
            for start in range(0, len(ordered), step_articles):
                step = ordered[start : start + step_articles]
                started = time.perf_counter()
                found = entities.for_step(step)
                metrics.NER_SECONDS.observe(time.perf_counter() - started)
                if in_flight is not None:
                    in_flight.result()
                texts = [fingerprints[a.article_id] for a in step]
                complete = [a.article_id not in entities.incomplete for a in step]
                in_flight = self._worker.submit(self._decide_and_publish, step, texts, found, complete, publish)
        except BaseException:
            if in_flight is not None:
                wait([in_flight])
            raise
        if in_flight is not None:
            in_flight.result()

    def close(self) -> None:
        """Stop the worker thread (after the step it may be running)."""
        self._worker.shutdown(wait=True)

    def _decide_and_publish(
        self,
        batch: list[RawArticle],
        fingerprints: list[TextFingerprint],
        entities: list[list[EntityRef]],
        complete: list[bool],
        publish: Callable[[EnrichResult], None],
    ) -> None:
        publish(self._decide(batch, fingerprints, entities, complete))

    def _decide(
        self,
        batch: list[RawArticle],
        fingerprints: list[TextFingerprint],
        entities: list[list[EntityRef]],
        complete: list[bool],
    ) -> EnrichResult:
        """Reprint links and stories for one step, under the index lock; the step's events."""
        now = self.clock()
        drafts = [
            EnrichedArticle(
                article=article,
                entities=found,
                content_hash=text.content_hash,
                enriched_at=now,
                entities_complete=whole,
            )
            for article, found, text, whole in zip(batch, entities, fingerprints, complete, strict=True)
        ]
        items = [
            DedupeItem(article.article_id, article.ingested_at, text, pack_event(draft))
            for article, text, draft in zip(batch, fingerprints, drafts, strict=True)
        ]
        story_items = [StoryItem.of(article, found) for article, found in zip(batch, entities, strict=True)]
        started = time.perf_counter()
        decided, stories = self.detector.decide_then(
            items, lambda conn, links: self._assign_stories(conn, story_items, links)
        )
        metrics.DEDUPE_SECONDS.observe(time.perf_counter() - started)

        published = [
            draft.model_copy(
                update={
                    "duplicate": decided.links[draft.article.article_id],
                    "story_id": stories.stories.get(draft.article.article_id),
                }
            )
            for draft in drafts
        ]
        corrections = [
            republished(moved, now, stories.corrections.get(moved.article_id)) for moved in decided.corrections
        ]
        _count(published, len(corrections), decided.new)
        story_metrics.record(stories)
        return EnrichResult(published, corrections)

    def _assign_stories(self, conn: Connection, items: list[StoryItem], decided: DedupeResult) -> StoryResult:
        started = time.perf_counter()
        roots = {article: link.duplicate_of if link else None for article, link in decided.links.items()}
        moved = [(m.article_id, m.root_id) for m in decided.corrections]
        result = self.stories.assign(conn, items, roots, moved)
        story_metrics.STORY_SECONDS.observe(time.perf_counter() - started)
        return result


def pack_event(event: EnrichedArticle) -> bytes:
    """The stored form of an event (compressed JSON: bodies compress ~3x)."""
    return zlib.compress(event.to_bytes())


def republished(moved: Regrouped, now: datetime, story: str | None) -> EnrichedArticle:
    """An indexed article's stored event with its current link and story, enriched ``now``."""
    stored = EnrichedArticle.model_validate_json(zlib.decompress(moved.event))
    link = None
    if moved.root_id != moved.article_id:
        link = DuplicateLink(
            duplicate_of=moved.root_id,
            kind=as_kind(moved.kind) or "reprint",
            similarity=1.0 if moved.similarity is None else min(1.0, max(0.0, moved.similarity)),
            evidence=moved.evidence,
        )
    return stored.model_copy(update={"duplicate": link, "story_id": story or stored.story_id, "enriched_at": now})


def _count(published: list[EnrichedArticle], corrections: int, new: frozenset[str]) -> None:
    metrics.ARTICLES.inc(len(published))
    metrics.CORRECTIONS.inc(corrections)
    for event in published:
        if event.article.article_id not in new:
            metrics.OUTCOME.labels("seen_before").inc()
            continue
        if event.duplicate is None:
            outcome: metrics.Outcome = "original"
        else:
            outcome = "exact_duplicate" if event.duplicate.kind == "exact" else "reprint"
        metrics.OUTCOME.labels(outcome).inc()
        for entity in event.entities:
            metrics.ENTITIES.labels(entity.type).inc()
