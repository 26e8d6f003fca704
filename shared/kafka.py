"""Thin, typed factories for kafka-python clients, and explicit topic creation.

Clients are created only when a factory is called (nothing touches the network at import).
Topics are never auto-created: ``ensure_topics`` creates them with several partitions at
start-up, idempotently, and every client is built with ``allow_auto_create_topics=False``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from shared.config import Settings
from shared.events import ALL_TOPICS
from shared.metrics import KAFKA_PRODUCED_BYTES, KAFKA_PRODUCED_MESSAGES, init_labels

log = logging.getLogger(__name__)


class CountingProducer(KafkaProducer):
    """A KafkaProducer that counts what it sends per topic (``newsflow_kafka_produced_*``)."""

    def send(self, topic: str, value: Any = None, key: Any = None, *args: Any, **kwargs: Any) -> Any:
        future = super().send(topic, value, key, *args, **kwargs)
        KAFKA_PRODUCED_MESSAGES.labels(topic).inc()
        KAFKA_PRODUCED_BYTES.labels(topic).inc(len(value or b"") + len(key or b""))
        return future


def security_options(settings: Settings) -> dict[str, Any]:
    """kafka-python's authentication and TLS arguments from the settings (none for PLAINTEXT)."""
    options: dict[str, Any] = {"security_protocol": settings.kafka_security_protocol}
    if settings.kafka_security_protocol.startswith("SASL_"):
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": settings.kafka_sasl_password.get_secret_value()
            if settings.kafka_sasl_password
            else None,
        }
    if settings.kafka_security_protocol.endswith("SSL"):
        options |= {
            "ssl_check_hostname": settings.kafka_ssl_check_hostname,
            "ssl_cafile": str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None,
            "ssl_certfile": str(settings.kafka_ssl_certfile) if settings.kafka_ssl_certfile else None,
            "ssl_keyfile": str(settings.kafka_ssl_keyfile) if settings.kafka_ssl_keyfile else None,
            "ssl_password": settings.kafka_ssl_password.get_secret_value() if settings.kafka_ssl_password else None,
        }
    return options


def make_producer(settings: Settings, *, client_id: str) -> KafkaProducer:
    """A producer that never loses or duplicates an acknowledged send.

    ``acks="all"`` and idempotence are kafka-python's defaults today, but are set explicitly:
    the delivery guarantee must not change with a library upgrade.
    """
    # Every topic's series exists from the start, so the first messages show as an increase.
    for metric in (KAFKA_PRODUCED_MESSAGES, KAFKA_PRODUCED_BYTES):
        init_labels(metric, [(topic,) for topic in ALL_TOPICS])
    return CountingProducer(
        bootstrap_servers=settings.require_kafka().split(","),
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        # A short linger batches the bursts that a folder backfill produces without adding
        # noticeable latency to a single file.
        linger_ms=5,
        max_request_size=settings.kafka_max_message_bytes,
        request_timeout_ms=settings.kafka_request_timeout_ms,
        allow_auto_create_topics=False,
        **security_options(settings),
    )


def make_consumer(settings: Settings, *, group_id: str, client_id: str) -> KafkaConsumer:
    """A group consumer whose offsets are committed by the caller, only after durable work."""
    return KafkaConsumer(
        bootstrap_servers=settings.require_kafka().split(","),
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=settings.kafka_heartbeat_interval_ms,
        max_poll_interval_ms=settings.kafka_max_poll_interval_ms,
        max_poll_records=settings.kafka_max_poll_records,
        request_timeout_ms=max(settings.kafka_request_timeout_ms, settings.kafka_session_timeout_ms + 5000),
        fetch_max_bytes=max(52_428_800, settings.kafka_max_message_bytes),
        max_partition_fetch_bytes=settings.kafka_max_message_bytes,
        allow_auto_create_topics=False,
        **security_options(settings),
    )


def wait_for_broker(settings: Settings, *, timeout_seconds: float = 60.0) -> KafkaAdminClient:
    """An admin client, retrying while the broker is still starting."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            return KafkaAdminClient(
                bootstrap_servers=settings.require_kafka().split(","),
                client_id="newsflow-admin",
                **security_options(settings),
            )
        except KafkaError as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"Kafka at {settings.kafka_bootstrap_servers} did not answer within "
                    f"{timeout_seconds:.0f} s: check KAFKA_BOOTSTRAP_SERVERS and that the broker runs."
                ) from exc
            time.sleep(0.5)


def ensure_topics(settings: Settings, topics: Iterable[str] = ALL_TOPICS) -> list[str]:
    """Create any missing topic with ``settings.topic_partitions`` partitions; return those created."""
    admin = wait_for_broker(settings)
    created: list[str] = []
    try:
        existing = set(admin.list_topics())
        for name in topics:
            if name in existing:
                continue
            topic = NewTopic(
                name,
                num_partitions=settings.topic_partitions,
                replication_factor=settings.topic_replication_factor,
            )
            try:
                admin.create_topics([topic])
                created.append(name)
            except TopicAlreadyExistsError:
                pass  # another process created it between list and create
        if created:
            log.info("topics created", extra={"topics": created, "partitions": settings.topic_partitions})
    finally:
        admin.close()
    return created
