"""The shared consumer loop against a real broker: commit after work, dead letters, retries."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from shared.config import Settings
from shared.consumer import ConsumerLoop, Delivery, RejectedEvent, TransientError
from shared.events import TOPIC_DLQ, TOPIC_RAW, DeadLetter, RawArticle
from shared.identity import article_id
from shared.kafka import ensure_topics, make_producer

_WAIT_SECONDS = 30.0


def _raw(name: str) -> RawArticle:
    now = datetime.now(UTC)
    return RawArticle(
        article_id=article_id(name, "0" * 64),
        source_file=name,
        sha256="0" * 64,
        size_bytes=10,
        content_type="text",
        body=f"Body of {name}.",
        received_at=now,
        ingested_at=now,
    )


@pytest.fixture
def kafka_settings(kafka_bootstrap: str) -> Settings:
    settings = Settings(kafka_bootstrap_servers=kafka_bootstrap, topic_partitions=2, db_retry_max_seconds=0.5)
    ensure_topics(settings)
    return settings


@pytest.fixture
def producer(kafka_settings: Settings) -> Iterator[KafkaProducer]:
    producer = make_producer(kafka_settings, client_id="test")
    yield producer
    producer.close()


def _run_loop(
    settings: Settings, producer: KafkaProducer, handle: Callable[[Sequence[Delivery[RawArticle]]], None]
) -> tuple[ConsumerLoop[RawArticle], threading.Event, threading.Thread]:
    stop = threading.Event()
    loop = ConsumerLoop(
        settings,
        stage="enrich",
        group_id="test-group",
        topic=TOPIC_RAW,
        schema=RawArticle,
        handle=handle,
        producer=producer,
        stop=stop,
    )
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    return loop, stop, thread


def _read_all(settings: Settings, topic: str, expected: int) -> list[bytes]:
    consumer = KafkaConsumer(bootstrap_servers=settings.require_kafka(), enable_auto_commit=False)
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    values: list[bytes] = []
    deadline = time.monotonic() + _WAIT_SECONDS
    while len(values) < expected and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=200).values():
            values.extend(r.value for r in records)
    consumer.close()
    return values


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + _WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_malformed_and_poison_messages_are_dead_lettered_and_the_rest_lands(
    kafka_settings: Settings, producer: KafkaProducer
) -> None:
    handled: list[str] = []

    def handle(batch: Sequence[Delivery[RawArticle]]) -> None:
        for delivery in batch:
            if delivery.event.source_file == "poison.txt":
                raise RejectedEvent("unprocessable", "poison.txt cannot be handled")
        handled.extend(d.event.source_file for d in batch)

    producer.send(TOPIC_RAW, key=b"k", value=b"{not json").get(timeout=10)
    for name in ("a.txt", "poison.txt", "b.txt"):
        producer.send(TOPIC_RAW, key=b"k", value=_raw(name).to_bytes()).get(timeout=10)

    _loop, stop, thread = _run_loop(kafka_settings, producer, handle)
    try:
        _wait_for(lambda: sorted(handled) == ["a.txt", "b.txt"])
        letters = [DeadLetter.model_validate_json(v) for v in _read_all(kafka_settings, TOPIC_DLQ, 2)]
    finally:
        stop.set()
        thread.join(timeout=15)

    reasons = {letter.reason: letter for letter in letters}
    assert set(reasons) == {"invalid_event", "unprocessable"}
    invalid = reasons["invalid_event"]
    assert invalid.source_topic == TOPIC_RAW and invalid.offset == 0 and invalid.payload == "{not json"
    assert "not a valid event" in invalid.message
    assert reasons["unprocessable"].source_file == "poison.txt"
    assert not thread.is_alive()


def test_transient_failures_are_retried_without_losing_the_batch(
    kafka_settings: Settings, producer: KafkaProducer
) -> None:
    failures_left = [2]
    handled: list[str] = []
    states: list[str] = []

    def handle(batch: Sequence[Delivery[RawArticle]]) -> None:
        if failures_left[0] > 0:
            failures_left[0] -= 1
            states.append(loop_ref[0].status.state if loop_ref else "")
            raise TransientError("database unavailable")
        handled.extend(d.event.source_file for d in batch)

    loop_ref: list[ConsumerLoop[RawArticle]] = []
    producer.send(TOPIC_RAW, key=b"k", value=_raw("c.txt").to_bytes()).get(timeout=10)
    loop, stop, thread = _run_loop(kafka_settings, producer, handle)
    loop_ref.append(loop)
    try:
        _wait_for(lambda: handled == ["c.txt"])
        assert loop.status.state == "ok"
        assert "degraded" in states, "the loop reports degraded while it retries"
    finally:
        stop.set()
        thread.join(timeout=15)


def test_offsets_are_committed_only_after_the_handler_returns(
    kafka_settings: Settings, producer: KafkaProducer
) -> None:
    producer.send(TOPIC_RAW, key=b"k", value=_raw("d.txt").to_bytes()).get(timeout=10)
    handled: list[str] = []
    loop, stop, thread = _run_loop(kafka_settings, producer, lambda batch: handled.extend("x" for _ in batch))
    _wait_for(lambda: handled == ["x"])
    stop.set()
    thread.join(timeout=15)

    # A second member of the same group starts after the commit: nothing is redelivered.
    again: list[str] = []
    loop, stop, thread = _run_loop(kafka_settings, producer, lambda batch: again.extend("x" for _ in batch))
    try:
        _wait_for(lambda: loop.status.state == "ok")
        time.sleep(1.0)
        assert again == []
    finally:
        stop.set()
        thread.join(timeout=15)
