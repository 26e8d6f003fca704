"""The entities of one polled batch: which articles go through spaCy, which take a copy's entities.

An unlocked preview of the reprint index (``ReprintDetector.preview``) says which articles copy an
article already tagged: one in the index (its stored event holds its entities) or one earlier in
the batch. Those take its entities (``entities.copies``); only the rest are tagged. The batch is
worked through in decision order (ingest time, then id) and possibly in steps, so a copy's source
in the batch is always tagged before the copy needs it.

An article longer than ``head_chars`` is tagged on its head only and listed in ``incomplete``
(its whole text is tagged later: ``deferred``), unless it is a redelivery of one already tagged in
full, which takes its recorded entities. A long copy is tagged itself, never given its source's
entities, which may be a head's only.
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
        head_chars: int | None = None,
    ) -> None:
        self.tagger = tagger
        self.head_chars = head_chars
        # Articles tagged on their head only: their events say so, and their full tagging is deferred.
        self.incomplete: set[str] = set()
        # Long articles are tagged themselves and never a copy's source, so they skip the preview
        # (seconds of fingerprinting for a text of megabytes); only their own recorded events are read.
        self.long = {a.article_id for a in batch if head_chars is not None and len(article_text(a)) > head_chars}
        self.sources: dict[str, str] = {}  # copy -> the article whose entities it takes
        self.stored: dict[str, bytes] = detector.stored_events(self.long) if self.long else {}
        if reuse_copies:
            preview = detector.preview(
                [
                    DedupeItem(a.article_id, a.ingested_at, text)
                    for a, text in zip(batch, fingerprints, strict=True)
                    if a.article_id not in self.long
                ]
            )
            self.sources = preview.sources
            self.stored.update(preview.stored_events)
        self.found: dict[str, list[EntityRef]] = {}
        self._unpacked: dict[str, EnrichedArticle] = {}

    def for_step(self, step: Sequence[RawArticle]) -> list[list[EntityRef]]:
        """Each article's entities; ``step`` is in decision order and follows the earlier steps."""
        heads = [a for a in step if a.article_id not in self.found and self._tag_head_only(a)]
        if heads:
            found = self.tagger.tag(heads, head_chars=self.head_chars)
            self.found.update(zip((a.article_id for a in heads), found, strict=True))
            self.incomplete.update(a.article_id for a in heads)
            metrics.ENTITY_SOURCE.labels("model").inc(len(heads))
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
        metrics.ENTITY_SOURCE.labels("copy").inc(len(step) - len(heads) - len(to_tag) - len(untagged))
        return [self.found[article.article_id] for article in step]

    def _tag(self, articles: list[RawArticle]) -> None:
        if articles:
            self.found.update(zip((a.article_id for a in articles), self.tagger.tag(articles), strict=True))
            metrics.ENTITY_SOURCE.labels("model").inc(len(articles))

    def _tag_head_only(self, article: RawArticle) -> bool:
        """A long article not recorded with all its entities before (by a first delivery)."""
        if article.article_id not in self.long:
            return False
        recorded = self._stored_event(article.article_id)
        if recorded is not None and recorded.entities_complete:
            self.found[article.article_id] = recorded.entities  # a redelivery: what was published
            return False
        return True

    def _entities_of(self, source: str) -> list[EntityRef] | None:
        if source in self.found:
            return self.found[source]
        stored = self._stored_event(source)
        return None if stored is None else stored.entities

    def _stored_event(self, source: str) -> EnrichedArticle | None:
        if source not in self.stored:
            return None
        if source not in self._unpacked:
            self._unpacked[source] = EnrichedArticle.model_validate_json(zlib.decompress(self.stored[source]))
        return self._unpacked[source]
