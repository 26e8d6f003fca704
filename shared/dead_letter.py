"""Publishing to the dead-letter topic: the one place a failure is written down for people."""

from __future__ import annotations

import logging

from kafka import KafkaProducer

from shared.events import TOPIC_DLQ, DeadLetter
from shared.metrics import DEAD_LETTERS

log = logging.getLogger(__name__)

_ACK_TIMEOUT_SECONDS = 30.0


def publish_dead_letter(producer: KafkaProducer, letter: DeadLetter) -> None:
    """Send ``letter`` and wait for the broker's acknowledgement (it must not be lost)."""
    key = (letter.article_id or letter.source_file or letter.reason).encode("utf-8")
    producer.send(TOPIC_DLQ, key=key, value=letter.to_bytes()).get(timeout=_ACK_TIMEOUT_SECONDS)
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
