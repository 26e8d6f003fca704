"""The entities of one polled batch: which articles go through spaCy, which take a copy's entities.

An unlocked preview of the reprint index (``ReprintDetector.preview``) says which articles copy an
article already tagged: one in the index (its stored event holds its entities) or one earlier in
the batch. Those take its entities (``entities.copies``); only the rest are tagged. The batch is
worked through in decision order (ingest time, then id) and possibly in steps, so a copy's source
in the batch is always tagged before the copy needs it.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from services.enrich import metrics
from services.enrich.dedupe.detector import DedupeItem, ReprintDetector
from services.enrich.dedupe.fingerprint import TextFingerprint
from services.enrich.entities.copies import copied_entities
from services.enrich.entities.tagger import EntityTagger, article_text
from shared.events import EnrichedArticle, EntityRef, RawArticle


class BatchEntities:
    """Entities for the articles of one batch, found step by step (see :meth:`for_step`)."""

    def __init__(
        self,
        tagger: EntityTagger,
        detector: ReprintDetector,
        batch: Sequence[RawArticle],
        fingerprints: Sequence[TextFingerprint],
        *,
        reuse_copies: bool,
    ) -> None:
        self.tagger = tagger
        self.sources: dict[str, str] = {}  # copy -> the article whose entities it takes
        self.stored: dict[str, bytes] = {}  # packed events of indexed sources
        if reuse_copies:
            preview = detector.preview(
                [DedupeItem(a.article_id, a.ingested_at, text) for a, text in zip(batch, fingerprints, strict=True)]
            )
            self.sources, self.stored = preview.sources, preview.stored_events
        self.found: dict[str, list[EntityRef]] = {}
        self._unpacked: dict[str, list[EntityRef]] = {}

    def for_step(self, step: Sequence[RawArticle]) -> list[list[EntityRef]]:
        """Each article's entities; ``step`` is in decision order and follows the earlier steps."""
        to_tag = [a for a in step if a.article_id not in self.sources and a.article_id not in self.found]
        self._tag(to_tag)
        untagged: list[RawArticle] = []
        for article in step:
            source = self.sources.get(article.article_id)
            if source is None or article.article_id in self.found:
                continue
            source_entities = self._entities_of(source)
            if source_entities is None:  # its source was never tagged (steps out of order): tag it
                untagged.append(article)
            elif source == article.article_id:  # a redelivery: exactly what was published before
                self.found[article.article_id] = source_entities
            else:
                self.found[article.article_id] = copied_entities(article_text(article), source_entities)
        self._tag(untagged)
        metrics.ENTITY_SOURCE.labels("copy").inc(len(step) - len(to_tag) - len(untagged))
        return [self.found[article.article_id] for article in step]

    def _tag(self, articles: list[RawArticle]) -> None:
        if articles:
            self.found.update(zip((a.article_id for a in articles), self.tagger.tag(articles), strict=True))
            metrics.ENTITY_SOURCE.labels("model").inc(len(articles))

    def _entities_of(self, source: str) -> list[EntityRef] | None:
        if source in self.found:
            return self.found[source]
        if source in self.stored:
            if source not in self._unpacked:
                event = EnrichedArticle.model_validate_json(zlib.decompress(self.stored[source]))
                self._unpacked[source] = event.entities
            return self._unpacked[source]
        return None
