"""The enrich work for a batch, without Kafka: entities, reprint links, stories, enriched events.

Entities come first, for the whole batch at once and outside any lock (the expensive part): an
unlocked preview of the reprint index says which articles copy one already tagged (an indexed
article or one earlier in the batch); those take its entities (``entities.copies``) and only the
rest go through spaCy. Reprint decisions then run against the durable index under its lock (see
``dedupe.detector``), and story assignment right after them in the same locked transaction (see
``stories.assigner``). The result holds one event per article of the batch, plus corrections:
earlier articles whose group got an earlier original, to republish with their new link and story.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from services.enrich import metrics
from services.enrich.dedupe.detector import DedupeItem, DedupeResult, ReprintDetector
from services.enrich.dedupe.fingerprint import TextFingerprint
from services.enrich.dedupe.index import Regrouped, as_kind
from services.enrich.entities.copies import copied_entities
from services.enrich.entities.tagger import EntityTagger, article_text
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
    ) -> None:
        self.tagger = tagger
        self.detector = detector
        self.stories = stories or StoryAssigner()
        self.clock = clock
        self.reuse_copy_entities = reuse_copy_entities

    def enrich(self, batch: Sequence[RawArticle]) -> EnrichResult:
        if not batch:
            return EnrichResult([], [])
        metrics.BATCH_SIZE.observe(len(batch))
        fingerprints = [TextFingerprint.of(article.body) for article in batch]
        started = time.perf_counter()
        entities = self._entities(batch, fingerprints)
        metrics.NER_SECONDS.observe(time.perf_counter() - started)

        now = self.clock()
        drafts = [
            EnrichedArticle(article=article, entities=found, content_hash=text.content_hash, enriched_at=now)
            for article, found, text in zip(batch, entities, fingerprints, strict=True)
        ]
        items = [
            DedupeItem(article.article_id, article.ingested_at, text, _pack(draft))
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
            _corrected(moved, now, stories.corrections.get(moved.article_id)) for moved in decided.corrections
        ]
        _count(published, len(corrections))
        story_metrics.record(stories)
        return EnrichResult(published, corrections)

    def _entities(self, batch: Sequence[RawArticle], fingerprints: list[TextFingerprint]) -> list[list[EntityRef]]:
        """Each article's entities: copies take their source's, the others are tagged in one call."""
        sources: dict[str, str] = {}
        stored: dict[str, bytes] = {}
        if self.reuse_copy_entities:
            preview = self.detector.preview(
                [DedupeItem(a.article_id, a.ingested_at, text) for a, text in zip(batch, fingerprints, strict=True)]
            )
            sources, stored = preview.sources, preview.stored_events
        found: dict[str, list[EntityRef]] = {}
        to_tag = [article for article in batch if article.article_id not in sources]
        found.update(zip((a.article_id for a in to_tag), self.tagger.tag(to_tag), strict=True))
        unpacked: dict[str, list[EntityRef]] = {}
        untagged: list[RawArticle] = []
        # Decision order: a copy's source in the batch comes before it, so it has its entities.
        for article in sorted(batch, key=lambda a: (a.ingested_at, a.article_id)):
            source = sources.get(article.article_id)
            if source is None or article.article_id in found:
                continue
            if source in found:
                source_entities = found[source]
            elif source in stored:
                if source not in unpacked:
                    unpacked[source] = EnrichedArticle.model_validate_json(zlib.decompress(stored[source])).entities
                source_entities = unpacked[source]
            else:  # the preview's source was not tagged (cannot happen in decision order): tag it
                untagged.append(article)
                continue
            if source == article.article_id:  # a redelivery: exactly what was published before
                found[article.article_id] = source_entities
            else:
                found[article.article_id] = copied_entities(article_text(article), source_entities)
        found.update(zip((a.article_id for a in untagged), self.tagger.tag(untagged), strict=True))
        metrics.ENTITY_SOURCE.labels("model").inc(len(to_tag) + len(untagged))
        metrics.ENTITY_SOURCE.labels("copy").inc(len(batch) - len(to_tag) - len(untagged))
        return [found[article.article_id] for article in batch]

    def _assign_stories(self, conn: Connection, items: list[StoryItem], decided: DedupeResult) -> StoryResult:
        started = time.perf_counter()
        roots = {article: link.duplicate_of if link else None for article, link in decided.links.items()}
        moved = [(m.article_id, m.root_id) for m in decided.corrections]
        result = self.stories.assign(conn, items, roots, moved)
        story_metrics.STORY_SECONDS.observe(time.perf_counter() - started)
        return result


def _pack(event: EnrichedArticle) -> bytes:
    """The stored form of an event (compressed JSON: bodies compress ~3x)."""
    return zlib.compress(event.to_bytes())


def _corrected(moved: Regrouped, now: datetime, story: str | None) -> EnrichedArticle:
    stored = EnrichedArticle.model_validate_json(zlib.decompress(moved.event))
    link = None
    if moved.root_id != moved.article_id:
        link = DuplicateLink(
            duplicate_of=moved.root_id,
            kind=as_kind(moved.kind) or "reprint",
            similarity=1.0 if moved.similarity is None else min(1.0, max(0.0, moved.similarity)),
        )
    return stored.model_copy(update={"duplicate": link, "story_id": story or stored.story_id, "enriched_at": now})


def _count(published: list[EnrichedArticle], corrections: int) -> None:
    metrics.ARTICLES.inc(len(published))
    metrics.CORRECTIONS.inc(corrections)
    for event in published:
        if event.duplicate is None:
            outcome: metrics.Outcome = "original"
        else:
            outcome = "exact_duplicate" if event.duplicate.kind == "exact" else "reprint"
        metrics.OUTCOME.labels(outcome).inc()
        for entity in event.entities:
            metrics.ENTITIES.labels(entity.type).inc()
