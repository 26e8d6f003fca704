"""Prometheus helpers: the metrics every consumer shares, and serving them.

Service-specific metrics live in each service's own ``metrics.py``; the ones defined here are
those the shared consumer loop records, so every consumer exports them under the same names.
Label values are always bounded (stage, reason, topic, partition), never a file name or id.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.metrics import MetricWrapperBase

CONSUMER_LAG = Gauge(
    "newsflow_consumer_lag_messages",
    "Messages not yet consumed: partition end offset minus the consumer's position.",
    ["group", "topic", "partition"],
)
CONSUMER_MESSAGES = Counter(
    "newsflow_consumer_messages_total",
    "Messages consumed, by outcome.",
    ["group", "outcome"],
)
CONSUMER_ERRORS = Counter(
    "newsflow_consumer_errors_total",
    "Processing errors, by kind (transient errors are retried, the others dead-lettered).",
    ["group", "kind"],
)
CONSUMER_REBALANCES = Counter(
    "newsflow_consumer_rebalances_total",
    "Partition assignments received by this consumer.",
    ["group"],
)
CONSUMER_BATCH_SECONDS = Histogram(
    "newsflow_consumer_batch_seconds",
    "Time to handle one polled batch, commit included.",
    ["group"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
DEAD_LETTERS = Counter(
    "newsflow_dead_letters_total",
    "Events and files sent to the dead-letter topic, by stage and reason.",
    ["stage", "reason"],
)

# The broker's traffic as newsflow's clients see it, per topic: with any broker (the embedded one
# has no exporter), and the same figures kafka_exporter or JMX would give for bytes in and out.
KAFKA_PRODUCED_MESSAGES = Counter(
    "newsflow_kafka_produced_messages_total", "Messages sent to the broker, by topic.", ["topic"]
)
KAFKA_PRODUCED_BYTES = Counter(
    "newsflow_kafka_produced_bytes_total", "Bytes of message keys and values sent to the broker, by topic.", ["topic"]
)
KAFKA_CONSUMED_BYTES = Counter(
    "newsflow_kafka_consumed_bytes_total",
    "Bytes of message keys and values fetched from the broker, by consumer group and topic.",
    ["group", "topic"],
)

CONSUMER_OUTCOMES = ("processed", "dead_lettered")
CONSUMER_ERROR_KINDS = ("transient", "poison", "invalid_event", "commit_failed")
# The reasons the consumer loop itself dead-letters with (handlers may add their own codes).
CONSUMER_DEAD_LETTER_REASONS = ("invalid_event", "processing_failed")


def init_labels(metric: MetricWrapperBase, label_sets: Iterable[Sequence[str]]) -> None:
    """Create each labelled child now, so a dashboard shows 0 instead of "no data"."""
    for labels in label_sets:
        metric.labels(*labels)


def init_consumer_metrics(group: str, stage: str | None = None, topic: str | None = None) -> None:
    init_labels(CONSUMER_MESSAGES, [(group, outcome) for outcome in CONSUMER_OUTCOMES])
    if topic is not None:
        init_labels(KAFKA_CONSUMED_BYTES, [(group, topic)])
    init_labels(CONSUMER_ERRORS, [(group, kind) for kind in CONSUMER_ERROR_KINDS])
    init_labels(CONSUMER_REBALANCES, [(group,)])
    if stage is not None:
        init_labels(DEAD_LETTERS, [(stage, reason) for reason in CONSUMER_DEAD_LETTER_REASONS])


def metrics_registry() -> CollectorRegistry:
    """The registry to expose: this process's, or every live worker's under PROMETHEUS_MULTIPROC_DIR."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def serve_metrics(host: str, port: int) -> None:
    """Serve this process's metrics at http://host:port/metrics (a daemon thread)."""
    start_http_server(port, addr=host, registry=metrics_registry())
