"""Publishing to the dead-letter topic: the one place a failure is written down for people."""

from __future__ import annotations

import logging

from kafka import KafkaProducer
from kafka.producer.future import FutureRecordMetadata

from shared.events import TOPIC_DLQ, DeadLetter
from shared.metrics import DEAD_LETTERS

log = logging.getLogger(__name__)

ACK_TIMEOUT_SECONDS = 30.0


def publish_dead_letter(producer: KafkaProducer, letter: DeadLetter) -> None:
    """Send ``letter`` and wait for the broker's acknowledgement (it must not be lost)."""
    send_dead_letter(producer, letter).get(timeout=ACK_TIMEOUT_SECONDS)
    dead_letter_acknowledged(letter)


def send_dead_letter(producer: KafkaProducer, letter: DeadLetter) -> FutureRecordMetadata:
    """Send ``letter`` without waiting; call :func:`dead_letter_acknowledged` once its future resolved.

    For a batch of dead letters: one round trip to the broker for all of them, not one each.
    """
    key = (letter.article_id or letter.source_file or letter.reason).encode("utf-8")
    future: FutureRecordMetadata = producer.send(TOPIC_DLQ, key=key, value=letter.to_bytes())
    return future


def dead_letter_acknowledged(letter: DeadLetter) -> None:
    """Count and log a dead letter the broker acknowledged."""
    DEAD_LETTERS.labels(letter.stage, letter.reason).inc()
    log.warning(
        "dead-lettered",
        extra={
            "stage": letter.stage,
            "reason": letter.reason,
            "detail": letter.message,
            "source_file": letter.source_file,
            "article_id": letter.article_id,
            "source_topic": letter.source_topic,
            "offset": letter.offset,
        },
    )
