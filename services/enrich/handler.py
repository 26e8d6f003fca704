"""The consumer loop's batch handler: enrich, publish every event, wait for every ack.

The batch is enriched in steps; each step's events are published (and acknowledged) while the
next step is tagged. Returning means all the batch's events are durably in ``news.enriched.v1``,
so the loop may commit the raw offsets. Failures of the database or the broker are transient
(the loop retries the batch with backoff); anything else is the article's fault and the loop
narrows it down and dead-letters it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from kafka import KafkaProducer
from kafka.errors import KafkaError
from sqlalchemy.exc import DBAPIError, OperationalError

from services.enrich.enricher import Enricher, EnrichResult
from shared.consumer import Delivery, TransientError
from shared.events import TOPIC_ENRICHED, EnrichedArticle, RawArticle

log = logging.getLogger(__name__)

# How long to wait for the broker to acknowledge one batch of enriched events.
ACK_TIMEOUT_SECONDS = 30.0


class EnrichHandler:
    """Callable handed to :class:`shared.consumer.ConsumerLoop`."""

    def __init__(
        self,
        enricher: Enricher,
        producer: KafkaProducer,
        *,
        step_articles: int,
        ack_timeout_seconds: float = ACK_TIMEOUT_SECONDS,
    ):
        self.enricher = enricher
        self.producer = producer
        self.step_articles = step_articles
        self.ack_timeout_seconds = ack_timeout_seconds

    def __call__(self, deliveries: Sequence[Delivery[RawArticle]]) -> None:
        try:
            self.enricher.enrich_in_steps(
                [d.event for d in deliveries], self._publish, step_articles=self.step_articles
            )
        except OperationalError as exc:
            raise TransientError(f"database unavailable: {exc.orig or exc}") from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise TransientError(f"database connection lost: {exc.orig or exc}") from exc
            raise

    def _publish(self, result: EnrichResult) -> None:
        """Publish one step's events and wait for every acknowledgement."""
        try:
            futures = [
                self.producer.send(TOPIC_ENRICHED, key=e.article.article_id.encode("utf-8"), value=e.to_bytes())
                for e in result.events
            ]
            for future in futures:
                future.get(timeout=self.ack_timeout_seconds)
        except KafkaError as exc:
            raise TransientError(f"publishing enriched events failed: {exc}") from exc
        for event in result.articles:
            log.info(
                "article enriched",
                extra={
                    "article_id": event.article.article_id,
                    "source_file": event.article.source_file,
                    "entities": len(event.entities),
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
