"""The store service as it runs: ``run(settings, stop)`` against a real Tansu broker and real Postgres.

Events go through Kafka, the real consumer loops store them, the read API (its own server, as
``newsflow api`` runs it) answers over HTTP and reads the consumers' states from the store's
metrics. The second test takes the database away mid-stream (through a TCP proxy) and brings it back.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.engine import make_url

from services.api.app import create_app
from services.embedded import free_port
from services.store.main import run
from shared.config import Settings
from shared.events import TOPIC_DLQ, TOPIC_ENRICHED, DeadLetter, EnrichedArticle
from shared.kafka import ensure_topics, make_producer
from tests.store.seed_events import seed_events
from tests.store.tcp_proxy import TcpProxy

pytestmark = pytest.mark.slow

_READY_SECONDS = 30.0
_VISIBLE_SECONDS = 20.0
_STOP_SECONDS = 20.0


@dataclass
class RunningStore:
    settings: Settings
    stop: threading.Event
    thread: threading.Thread
    errors: list[BaseException]
    api_server: uvicorn.Server
    api_thread: threading.Thread

    @property
    def api(self) -> str:
        return f"http://{self.settings.api_host}:{self.settings.api_port}"

    @property
    def metrics(self) -> str:
        return f"http://{self.settings.metrics_host}:{self.settings.store_metrics_port}/metrics"

    @property
    def health(self) -> str:
        """The store's own /health, beside its metrics."""
        return f"http://{self.settings.metrics_host}:{self.settings.store_metrics_port}/health"

    def get(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(f"{self.api}{path}", params=params, timeout=10)


def _wait(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")


def _start(settings: Settings) -> RunningStore:
    stop = threading.Event()
    errors: list[BaseException] = []

    def target() -> None:
        try:
            run(settings, stop)
        except BaseException as exc:  # noqa: BLE001  # reported to the test
            errors.append(exc)

    thread = threading.Thread(target=target, name="store-under-test", daemon=True)
    thread.start()
    app = create_app(settings)
    app.state.sampler.interval_seconds = 0.5  # read the store's states often: the tests wait on them
    server = uvicorn.Server(uvicorn.Config(app, host=settings.api_host, port=settings.api_port, log_config=None))
    api_thread = threading.Thread(target=server.run, name="api-under-test", daemon=True)
    api_thread.start()
    store = RunningStore(settings, stop, thread, errors, server, api_thread)
    _wait(lambda: store.get("/health").status_code == 200, _READY_SECONDS, "/health to answer 200")
    return store


def _stop(store: RunningStore) -> None:
    store.api_server.should_exit = True
    store.api_thread.join(_STOP_SECONDS)
    store.stop.set()
    store.thread.join(_STOP_SECONDS)
    assert not store.thread.is_alive(), "run() did not return after stop was set"
    assert not store.errors, store.errors


def _settings(tmp_path: Path, kafka: str, database_url: str, **overrides: Any) -> Settings:
    store_metrics_port = free_port()
    return Settings(
        kafka_bootstrap_servers=kafka,
        database_url=database_url,
        api_port=free_port(),
        store_metrics_port=store_metrics_port,
        metrics_targets=[f"127.0.0.1:{store_metrics_port}"],
        data_dir=tmp_path / "data",
        inbox=tmp_path / "inbox",
        **overrides,
    )


def _publish(settings: Settings, events: list[EnrichedArticle]) -> None:
    producer = make_producer(settings, client_id="test-enrich")
    for event in events:
        producer.send(TOPIC_ENRICHED, key=event.article.article_id.encode(), value=event.to_bytes())
    producer.flush(timeout=10)
    producer.close()


def _listed(store: RunningStore) -> int:
    return len(store.get("/articles", include_duplicates="true", limit=100).json()["items"])


def _metric(store: RunningStore, name: str, labels: str) -> float:
    selector = f"{name}{{{labels}}}" if labels else name
    match = re.search(rf"^{re.escape(selector)} (\S+)$", httpx.get(store.metrics, timeout=10).text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


@pytest.fixture
def store(tmp_path: Path, kafka_bootstrap: str, store_database_url: str) -> Iterator[RunningStore]:
    running = _start(_settings(tmp_path, kafka_bootstrap, store_database_url))
    try:
        yield running
    finally:
        _stop(running)


def test_events_from_kafka_reach_the_api(store: RunningStore) -> None:
    events = seed_events()
    _publish(store.settings, events)
    producer = make_producer(store.settings, client_id="test-other")
    producer.send(TOPIC_ENRICHED, key=b"broken", value=b'{"not": "an event"}')
    rejected = DeadLetter(stage="ingest", reason="binary", message="photo.jpg is not text", source_file="photo.jpg")
    producer.send(TOPIC_DLQ, key=b"photo.jpg", value=rejected.to_bytes())
    producer.flush(timeout=10)
    producer.close()

    _wait(lambda: _listed(store) == 6, _VISIBLE_SECONDS, "six articles listed")
    _wait(lambda: store.get("/stats").json()["dead_letters"] == 2, _VISIBLE_SECONDS, "both dead letters recorded")
    stats = store.get("/stats").json()
    assert stats["rejected_files"] == 1 and stats["articles"] == 6
    reasons = {(r["stage"], r["reason"]) for r in stats["dead_letters_by_reason"]}
    assert reasons == {("ingest", "binary"), ("store", "invalid_event")}, "the broken message was dead-lettered"
    # The store's own port: its consumers' states as metrics (what the API's /health reads) and a /health.
    assert _metric(store, "newsflow_store_consumer_state", 'consumer="articles",state="ok"') == 1.0
    assert httpx.get(store.health, timeout=10).json()["consumers"]["articles"]["state"] == "ok"

    # Redelivery through Kafka changes nothing.
    before = store.get("/articles", include_duplicates="true", limit=100).json()
    redelivered = _metric(store, "newsflow_store_redeliveries_total", 'handler="articles"')
    timed = _metric(store, "newsflow_store_end_to_end_seconds_count", 'origin="live"')
    assert timed >= 6, "each article was timed when first stored"
    _publish(store.settings, events * 2)
    _wait(
        lambda: _metric(store, "newsflow_store_redeliveries_total", 'handler="articles"') >= redelivered + 12,
        _VISIBLE_SECONDS,
        "the redelivered events to be consumed",
    )
    assert store.get("/articles", include_duplicates="true", limit=100).json() == before
    assert _metric(store, "newsflow_store_end_to_end_seconds_count", 'origin="live"') == timed, (
        "a redelivered article is not a file arriving: not timed again"
    )


def test_database_outage_pauses_consuming_and_heals(
    tmp_path: Path, kafka_bootstrap: str, store_database_url: str
) -> None:
    real = make_url(store_database_url)
    proxy = TcpProxy(real.host or "127.0.0.1", real.port or 5432)
    through_proxy = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    settings = _settings(
        tmp_path, kafka_bootstrap, through_proxy, db_retry_max_seconds=1.0, db_statement_timeout_ms=2000
    )
    ensure_topics(settings)
    events = seed_events()
    store = _start(settings)
    try:
        _publish(settings, events[:3])
        _wait(lambda: _listed(store) == 3, _VISIBLE_SECONDS, "the first three articles")

        proxy.cut()
        _publish(settings, events[3:])
        _wait(
            lambda: store.get("/health").json().get("consumers", {}).get("articles", {}).get("state") == "degraded",
            _VISIBLE_SECONDS,
            "the articles consumer to report degraded",
        )
        health = store.get("/health")
        assert health.status_code == 503 and "database" in health.json()["reason"]
        own = httpx.get(store.health, timeout=10)
        assert own.status_code == 503 and "database unavailable" in own.json()["reason"], "the store says why"
        assert store.get("/articles").status_code == 503

        proxy.restore()
        _wait(lambda: _listed(store) == 6, _VISIBLE_SECONDS, "all six articles after the database came back")
        _wait(lambda: store.get("/health").status_code == 200, _VISIBLE_SECONDS, "/health to recover")
    finally:
        proxy.restore()
        _stop(store)
        proxy.close()
