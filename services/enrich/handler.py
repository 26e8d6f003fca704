"""The consumer loop's batch handler: enrich, publish every event, wait for every ack.

The batch is enriched in steps; each step's events are published (and acknowledged) while the
next step is tagged. Returning means all the batch's events are durably in ``news.enriched.v1``,
so the loop may commit the raw offsets. Failures of the database or the broker are transient
(the loop retries the batch with backoff); anything else is the article's fault and the loop
narrows it down and dead-letters it. A long article published with its head's entities only is
queued on ``news.entities.deferred.v1`` in the same wait for acknowledgements, so the raw offset
is never committed before its full tagging is durably asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from kafka import KafkaProducer
from kafka.errors import KafkaError
from sqlalchemy.exc import DBAPIError, OperationalError

from services.enrich import metrics
from services.enrich.enricher import Enricher, EnrichResult
from services.enrich.turns import TaggingTurns
from shared.consumer import Delivery, TransientError
from shared.events import TOPIC_DEFERRED_TAGGING, TOPIC_ENRICHED, DeferredTagging, EnrichedArticle, Event, RawArticle

log = logging.getLogger(__name__)

# How long to wait for the broker to acknowledge one batch of enriched events.
ACK_TIMEOUT_SECONDS = 30.0


@contextmanager
def database_failures_are_transient() -> Iterator[None]:
    """Turn a lost or unavailable database into ``TransientError`` (the loop retries the batch)."""
    try:
        yield
    except OperationalError as exc:
        raise TransientError(f"database unavailable: {exc.orig or exc}") from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise TransientError(f"database connection lost: {exc.orig or exc}") from exc
        raise


def send_acknowledged(producer: KafkaProducer, messages: Sequence[tuple[str, str, Event]], timeout: float) -> None:
    """Send ``(topic, article_id, event)`` messages, keyed by article, and wait for every acknowledgement."""
    try:
        futures = [
            producer.send(topic, key=key.encode("utf-8"), value=event.to_bytes()) for topic, key, event in messages
        ]
        for future in futures:
            future.get(timeout=timeout)
    except KafkaError as exc:
        raise TransientError(f"publishing {len(messages)} events failed: {exc}") from exc


class EnrichHandler:
    """Callable handed to :class:`shared.consumer.ConsumerLoop`."""

    def __init__(
        self,
        enricher: Enricher,
        producer: KafkaProducer,
        *,
        step_articles: int,
        ack_timeout_seconds: float = ACK_TIMEOUT_SECONDS,
        turns: TaggingTurns | None = None,
    ):
        self.enricher = enricher
        self.producer = producer
        self.step_articles = step_articles
        self.ack_timeout_seconds = ack_timeout_seconds
        # Shared with the deferred tagger: a batch goes before its next piece.
        self.turns = turns or TaggingTurns()

    def __call__(self, deliveries: Sequence[Delivery[RawArticle]]) -> None:
        with self.turns.batch(), database_failures_are_transient():
            self.enricher.enrich_in_steps(
                [d.event for d in deliveries], self._publish, step_articles=self.step_articles
            )

    def _publish(self, result: EnrichResult) -> None:
        """Publish one step's events (and its long articles' deferred tagging); wait for every acknowledgement."""
        messages: list[tuple[str, str, Event]] = [(TOPIC_ENRICHED, e.article.article_id, e) for e in result.events]
        deferred = [
            DeferredTagging(
                article_id=e.article.article_id,
                source_file=e.article.source_file,
                characters=len(e.article.body),
            )
            for e in result.articles
            if not e.entities_complete
        ]
        messages += [(TOPIC_DEFERRED_TAGGING, d.article_id, d) for d in deferred]
        send_acknowledged(self.producer, messages, self.ack_timeout_seconds)
        metrics.DEFERRED_ARTICLES.labels("queued").inc(len(deferred))
        for event in result.articles:
            log.info(
                "article enriched",
                extra={
                    "article_id": event.article.article_id,
                    "source_file": event.article.source_file,
                    "entities": len(event.entities),
                    "entities_complete": event.entities_complete,
                    "duplicate_of": event.duplicate.duplicate_of if event.duplicate else None,
                    "duplicate_kind": event.duplicate.kind if event.duplicate else None,
                    "duplicate_evidence": _evidence(event),
                },
            )
        for event in result.corrections:
            log.info(
                "link corrected: the group has an earlier original",
                extra={
                    "article_id": event.article.article_id,
                    "source_file": event.article.source_file,
                    "duplicate_of": event.duplicate.duplicate_of if event.duplicate else None,
                    "duplicate_evidence": _evidence(event),
                },
            )


def _evidence(event: EnrichedArticle) -> str | None:
    """What made the link (identical text, shared passages, noisy text), for the log."""
    return event.duplicate.evidence.method if event.duplicate and event.duplicate.evidence else None
