"""A malformed message on each topic goes to ``news.dlq.v1`` with where it was and why, and the consumer goes on.

The bad messages are written by a bare ``KafkaProducer`` (as a foreign or broken producer
would), each followed on the same partition (same key) by a good event that must still be processed.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from bench.harness.pipeline import FLOW_TIMEOUT_SECONDS, dead_letters, make_articles, stored_articles, wait_until
from shared.events import TOPIC_DLQ, TOPIC_ENRICHED, TOPIC_RAW, DeadLetter, EnrichedArticle, RawArticle
from shared.identity import article_id, sha256_hex
from tests.faults.conftest import PipelineFactory

pytestmark = [pytest.mark.faults, pytest.mark.slow]

_ACK_SECONDS = 30.0
_KEY = b"same-partition-key"


def _raw_event(name: str, body: str) -> RawArticle:
    data = body.encode()
    now = datetime.now(UTC)
    return RawArticle(
        article_id=article_id(name, sha256_hex(data)),
        source_file=name,
        sha256=sha256_hex(data),
        size_bytes=len(data),
        content_type="text",
        body=body,
        received_at=now,
        ingested_at=now,
    )


def _read_dead_letters(bootstrap: str) -> list[DeadLetter]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(TOPIC_DLQ, p) for p in sorted(consumer.partitions_for_topic(TOPIC_DLQ) or [])]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        letters: list[DeadLetter] = []
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            for records in consumer.poll(timeout_ms=200).values():
                letters.extend(DeadLetter.model_validate_json(r.value) for r in records)
        return letters
    finally:
        consumer.close()


def test_malformed_messages_are_dead_lettered_with_their_origin_and_the_consumers_go_on(
    pipelines: PipelineFactory, database_url: str
) -> None:
    pipeline = pipelines(database_url=database_url)
    bootstrap = pipeline.run_info()["kafka_bootstrap_servers"]
    good_raw, good_enriched = (file.data.decode() for file in make_articles(2, prefix="dlq"))
    raw_event = _raw_event("after-bad-raw.txt", good_raw)
    enriched_event = EnrichedArticle(
        article=_raw_event("after-bad-enriched.txt", good_enriched),
        content_hash=sha256_hex(good_enriched.encode()),
        enriched_at=datetime.now(UTC),
    )

    producer = KafkaProducer(bootstrap_servers=bootstrap)
    try:
        sent = {
            TOPIC_RAW: producer.send(TOPIC_RAW, key=_KEY, value=b'{"article_id": "x", "body": ').get(_ACK_SECONDS),
            TOPIC_ENRICHED: producer.send(
                TOPIC_ENRICHED, key=_KEY, value=b'{"schema_version": 1, "article": {"article_id": 42}}'
            ).get(_ACK_SECONDS),
        }
        producer.send(TOPIC_RAW, key=_KEY, value=raw_event.to_bytes()).get(_ACK_SECONDS)
        producer.send(TOPIC_ENRICHED, key=_KEY, value=enriched_event.to_bytes()).get(_ACK_SECONDS)
    finally:
        producer.close()

    # The good messages behind the bad ones on the same partitions are processed all the way.
    wanted = {"after-bad-raw.txt", "after-bad-enriched.txt"}
    wait_until(
        lambda: wanted <= {row[0] for row in stored_articles(database_url)},
        "the good events behind the malformed ones to be stored",
    )
    letters = _read_dead_letters(bootstrap)
    by_topic = {letter.source_topic: letter for letter in letters}
    assert set(by_topic) == {TOPIC_RAW, TOPIC_ENRICHED}, f"dead letters: {letters}"
    for topic, metadata in sent.items():
        letter = by_topic[topic]
        assert (letter.partition, letter.offset) == (metadata.partition, metadata.offset), topic
        assert letter.reason == "invalid_event" and letter.key == _KEY.decode()
        assert f"{topic}[{metadata.partition}]@{metadata.offset}" in letter.message, "the error says where"
        assert letter.payload, "the bad message is kept so it can be inspected or replayed"
    assert by_topic[TOPIC_RAW].stage == "enrich" and by_topic[TOPIC_ENRICHED].stage == "store"
    assert "article_id" in by_topic[TOPIC_ENRICHED].message, "the error names the bad field"

    # The store keeps dead letters too (that is what /stats counts).
    wait_until(
        lambda: len(dead_letters(database_url)) == 2, "the store to record both dead letters", FLOW_TIMEOUT_SECONDS
    )
    recorded = {(d["source_topic"], d["source_partition"], d["source_offset"]) for d in dead_letters(database_url)}
    assert recorded == {(t, m.partition, m.offset) for t, m in sent.items()}
    assert pipeline.health().status_code == 200, "a bad message does not degrade the service"
