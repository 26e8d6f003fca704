"""Prometheus helpers: the metrics every consumer shares, and serving them (with a health answer if wanted).

Service-specific metrics live in each service's own ``metrics.py``; the ones defined here are
those the shared consumer loop records, so every consumer exports them under the same names.
Label values are always bounded (stage, reason, topic, partition), never a file name or id.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    make_wsgi_app,
    start_http_server,
)
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


# A health answer: whether the process is healthy (200, else 503) and the JSON body saying why.
HealthAnswer = tuple[bool, dict[str, Any]]


def serve_metrics(host: str, port: int, health: Callable[[], HealthAnswer] | None = None) -> Callable[[], None]:
    """Serve this process's metrics at http://host:port/metrics (a daemon thread); returns how to stop it.

    With ``health``, ``/health`` on the same port answers its JSON (200 or 503): a service without
    an HTTP API of its own (the store) can be probed there by docker-compose and by people.
    """
    if health is None:
        started, _thread = start_http_server(port, addr=host, registry=metrics_registry())
        return lambda: _close(started)
    metrics_app = make_wsgi_app(metrics_registry())

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/health":
            return metrics_app(environ, start_response)
        healthy, body = health()
        payload = json.dumps(body).encode()
        status = "200 OK" if healthy else "503 Service Unavailable"
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]

    server_class = _IPv6Server if ":" in host else _Server
    server = make_server(host, port, app, server_class, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True).start()
    return lambda: _close(server)


def _close(server: WSGIServer) -> None:
    server.shutdown()
    server.server_close()


class _Server(ThreadingMixIn, WSGIServer):
    # Like prometheus_client's own server: a slow client holds one thread, not the endpoint.
    daemon_threads = True


class _IPv6Server(_Server):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds would flood the log; requests are not logged."""
