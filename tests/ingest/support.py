"""Helpers for ingest tests against the real broker: dropping files, reading topics back, waiting."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

from kafka import KafkaConsumer, TopicPartition

from services.ingest.service import IngestService
from shared.config import Settings
from shared.events import TOPIC_DLQ, TOPIC_RAW, DeadLetter, RawArticle

WAIT_SECONDS: Final = 30.0


def start(settings: Settings) -> tuple[IngestService, threading.Thread, threading.Event]:
    """One ingest replica running in a thread; set the event to stop it."""
    stop = threading.Event()
    service = IngestService(settings, stop)

    def _run() -> None:
        try:
            service.run()
        finally:
            service.close()

    thread = threading.Thread(target=_run, daemon=True)
    thread.start()
    return service, thread, stop


def read_topic(settings: Settings, topic: str) -> list[bytes]:
    """Every message on ``topic`` now, from the beginning of each partition."""
    consumer = KafkaConsumer(bootstrap_servers=settings.require_kafka(), enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        values: list[bytes] = []
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            for records in consumer.poll(timeout_ms=200).values():
                values.extend(r.value for r in records)
        return values
    finally:
        consumer.close()


def raw_events(settings: Settings) -> list[RawArticle]:
    return [RawArticle.model_validate_json(v) for v in read_topic(settings, TOPIC_RAW)]


def dead_letters(settings: Settings) -> list[DeadLetter]:
    return [DeadLetter.model_validate_json(v) for v in read_topic(settings, TOPIC_DLQ)]


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def inbox_empty(settings: Settings) -> bool:
    return not any(settings.inbox.iterdir())


def drop(path: Path, data: bytes) -> None:
    """Write ``data`` under a temporary name and rename it in, as careful writers do."""
    temporary = path.with_name(path.name + ".part")
    temporary.write_bytes(data)
    os.rename(temporary, path)
