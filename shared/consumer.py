"""The one consumer loop every service runs: poll, validate, handle a batch, dead-letter, commit.

A service supplies a plain handler ``handle(deliveries) -> None`` that does the durable work for
a batch. The loop owns everything else, once:

- a message that is not a valid event goes to ``news.dlq.v1`` with its topic/partition/offset;
- a handler that raises :class:`TransientError` (database down, broker busy) is retried with
  backoff on the same batch, partitions paused, offsets kept: nothing is skipped;
- any other handler failure is narrowed to the poison message by retrying one by one, and only
  that message is dead-lettered;
- offsets are committed only after the handler returned (the work is durable) and every
  dead letter was acknowledged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata
from pydantic import ValidationError

from shared.config import Settings
from shared.dead_letter import publish_dead_letter
from shared.events import DeadLetter, EventT, Stage
from shared.kafka import make_consumer
from shared.metrics import (
    CONSUMER_BATCH_SECONDS,
    CONSUMER_ERRORS,
    CONSUMER_LAG,
    CONSUMER_MESSAGES,
    CONSUMER_REBALANCES,
    KAFKA_CONSUMED_BYTES,
    init_consumer_metrics,
)

log = logging.getLogger(__name__)

# The longest a payload is copied into a dead letter; the rest is cut (the original offset is kept).
_MAX_DLQ_PAYLOAD_CHARS = 1_000_000
_LAG_REFRESH_SECONDS = 2.0


class TransientError(Exception):
    """The batch could not be handled now but may be later (e.g. the database is down)."""


class RejectedEvent(Exception):
    """One event that can never be handled; ``reason`` is a short code for the dead letter."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Delivery(Generic[EventT]):
    """A validated event with where it came from."""

    event: EventT
    topic: str
    partition: int
    offset: int
    timestamp_ms: int


Handler = Callable[[Sequence[Delivery[EventT]]], None]
LoopState = Literal["starting", "ok", "degraded", "stopped"]


@dataclass
class LoopStatus:
    """What the loop is doing, for health endpoints."""

    state: LoopState = "starting"
    detail: str = ""
    since: float = field(default_factory=time.time)

    def set(self, state: LoopState, detail: str = "") -> None:
        if state != self.state:
            self.since = time.time()
        self.state, self.detail = state, detail


class _RebalanceCounter(ConsumerRebalanceListener):
    def __init__(self, group: str) -> None:
        self.group = group

    def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        log.info("partitions revoked", extra={"group": self.group, "partitions": sorted(str(p) for p in revoked)})

    def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        CONSUMER_REBALANCES.labels(self.group).inc()
        log.info("partitions assigned", extra={"group": self.group, "partitions": sorted(str(p) for p in assigned)})


class ConsumerLoop(Generic[EventT]):
    """Consumes one topic as one group member and feeds validated batches to ``handle``."""

    def __init__(
        self,
        settings: Settings,
        *,
        stage: Stage,
        group_id: str,
        topic: str,
        schema: type[EventT],
        handle: Handler[EventT],
        producer: KafkaProducer,
        stop: threading.Event,
        client_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.stage = stage
        self.group_id = group_id
        self.topic = topic
        self.schema = schema
        self.handle = handle
        self.producer = producer
        self.stop = stop
        self.client_id = client_id or f"newsflow-{stage}"
        self.status = LoopStatus()
        self._consumer: KafkaConsumer | None = None
        self._lag_refreshed_at = 0.0
        self._lag_partitions: set[tuple[str, str]] = set()
        init_consumer_metrics(group_id, stage, topic)

    # ---------------------------------------------------------------------------------------
    def run(self) -> None:
        """Consume until ``stop`` is set; then close without committing unfinished work."""
        consumer = make_consumer(self.settings, group_id=self.group_id, client_id=self.client_id)
        self._consumer = consumer
        consumer.subscribe([self.topic], listener=_RebalanceCounter(self.group_id))
        log.info("consumer started", extra={"group": self.group_id, "topic": self.topic})
        try:
            while not self.stop.is_set():
                polled = consumer.poll(
                    timeout_ms=self.settings.kafka_poll_timeout_ms,
                    max_records=self.settings.kafka_max_poll_records,
                )
                self._refresh_lag(consumer)
                if self.status.state == "starting" and consumer.assignment():
                    self.status.set("ok")
                records = [r for batch in polled.values() for r in batch]
                if records:
                    fetched = sum(len(r.value or b"") + len(r.key or b"") for r in records)
                    KAFKA_CONSUMED_BYTES.labels(self.group_id, self.topic).inc(fetched)
                    self._handle_records(consumer, records)
        finally:
            self.status.set("stopped")
            consumer.close(autocommit=False)
            log.info("consumer stopped", extra={"group": self.group_id})

    # ---------------------------------------------------------------------------------------
    def _handle_records(self, consumer: KafkaConsumer, records: list[ConsumerRecord]) -> None:
        started = time.perf_counter()
        deliveries: list[Delivery[EventT]] = []
        for record in records:
            try:
                event = self.schema.model_validate_json(record.value or b"")
            except ValidationError as exc:
                CONSUMER_ERRORS.labels(self.group_id, "invalid_event").inc()
                self._dead_letter(record, "invalid_event", _describe_invalid(record, exc))
                continue
            deliveries.append(Delivery(event, record.topic, record.partition, record.offset, record.timestamp))
        if deliveries and not self._process(consumer, deliveries):
            return  # stopping mid-retry: leave offsets uncommitted so the work is redone
        self._commit(consumer, records)
        CONSUMER_MESSAGES.labels(self.group_id, "processed").inc(len(deliveries))
        CONSUMER_BATCH_SECONDS.labels(self.group_id).observe(time.perf_counter() - started)

    def _process(self, consumer: KafkaConsumer, deliveries: list[Delivery[EventT]]) -> bool:
        """Handle ``deliveries`` durably; False only if asked to stop before it could."""
        attempt = 0
        while True:
            try:
                self.handle(deliveries)
            except TransientError as exc:
                CONSUMER_ERRORS.labels(self.group_id, "transient").inc()
                delay = min(self.settings.db_retry_max_seconds, 0.5 * 2**attempt)
                attempt += 1
                self.status.set("degraded", str(exc))
                log.warning(
                    "transient failure, retrying the batch",
                    extra={"group": self.group_id, "error": str(exc), "retry_in_seconds": delay},
                )
                if not self._wait_paused(consumer, delay):
                    return False
                continue
            except Exception as exc:
                if len(deliveries) > 1:
                    # Narrow the failure to the poison message(s) so the rest of the batch lands.
                    return all(self._process(consumer, [d]) for d in deliveries)
                CONSUMER_ERRORS.labels(self.group_id, "poison").inc()
                reason, message = (
                    (exc.reason, exc.message)
                    if isinstance(exc, RejectedEvent)
                    else ("processing_failed", f"{type(exc).__name__}: {exc}")
                )
                log.exception("event dead-lettered", extra=_event_context(deliveries[0]))
                self._dead_letter_delivery(deliveries[0], reason, message)
            if self.status.state == "degraded":
                self.status.set("ok")
            return True

    def _wait_paused(self, consumer: KafkaConsumer, seconds: float) -> bool:
        """Wait with partitions paused, still polling so the group keeps this member."""
        partitions = list(consumer.assignment())
        consumer.pause(*partitions)
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                if self.stop.is_set():
                    return False
                consumer.poll(timeout_ms=min(200, max(1, int((deadline - time.monotonic()) * 1000))))
        finally:
            consumer.resume(*[p for p in partitions if p in consumer.assignment()])
        return not self.stop.is_set()

    def _commit(self, consumer: KafkaConsumer, records: list[ConsumerRecord]) -> None:
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            if tp not in offsets or offsets[tp].offset <= record.offset:
                offsets[tp] = OffsetAndMetadata(record.offset + 1, "", -1)
        try:
            consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:
            # The partitions moved to another member, which will redeliver: harmless, since
            # every handler is idempotent on the event's identity.
            CONSUMER_ERRORS.labels(self.group_id, "commit_failed").inc()
            log.warning("offset commit failed", extra={"group": self.group_id, "error": str(exc)})

    def _refresh_lag(self, consumer: KafkaConsumer) -> None:
        now = time.monotonic()
        if now - self._lag_refreshed_at < _LAG_REFRESH_SECONDS:
            return
        self._lag_refreshed_at = now
        assigned = consumer.assignment()
        for tp in assigned:
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            try:
                position = consumer.position(tp, timeout_ms=1000)
            except KafkaError:
                continue
            CONSUMER_LAG.labels(self.group_id, tp.topic, str(tp.partition)).set(max(0, highwater - position))
        # A partition that moved to another member is reported by that member now: drop our last
        # value, or a sum over replicas would count its lag twice, stuck at the time it moved.
        current = {(tp.topic, str(tp.partition)) for tp in assigned}
        for topic, partition in self._lag_partitions - current:
            CONSUMER_LAG.remove(self.group_id, topic, partition)
        self._lag_partitions = current

    # ---------------------------------------------------------------------------------------
    def _dead_letter(self, record: ConsumerRecord, reason: str, message: str) -> None:
        payload = (record.value or b"").decode("utf-8", errors="replace")[:_MAX_DLQ_PAYLOAD_CHARS]
        letter = DeadLetter(
            stage=self.stage,
            reason=reason,
            message=message,
            source_topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key.decode("utf-8", errors="replace") if record.key else None,
            payload=payload,
        )
        publish_dead_letter(self.producer, letter)
        CONSUMER_MESSAGES.labels(self.group_id, "dead_lettered").inc()

    def _dead_letter_delivery(self, delivery: Delivery[EventT], reason: str, message: str) -> None:
        context = _event_context(delivery)
        letter = DeadLetter(
            stage=self.stage,
            reason=reason,
            message=message,
            source_topic=delivery.topic,
            partition=delivery.partition,
            offset=delivery.offset,
            article_id=context.get("article_id"),
            source_file=context.get("source_file"),
            payload=delivery.event.model_dump_json()[:_MAX_DLQ_PAYLOAD_CHARS],
        )
        publish_dead_letter(self.producer, letter)
        CONSUMER_MESSAGES.labels(self.group_id, "dead_lettered").inc()


def _describe_invalid(record: ConsumerRecord, exc: ValidationError) -> str:
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": str(exc)}
    where = ".".join(str(part) for part in first.get("loc", ())) or "the message"
    return (
        f"Message at {record.topic}[{record.partition}]@{record.offset} is not a valid event: "
        f"{where}: {first.get('msg')}. Fix the producer; the message is kept here unchanged."
    )


def _event_context(delivery: Delivery[EventT]) -> dict[str, str]:
    """article_id / source_file of an event, for logs and dead letters, whichever schema it has."""
    event = delivery.event
    article = getattr(event, "article", event)
    context: dict[str, str] = {}
    for key in ("article_id", "source_file"):
        value = getattr(article, key, None)
        if isinstance(value, str):
            context[key] = value
    return context
