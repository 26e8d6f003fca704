"""``/stats``, ``/health`` (the store's consumers read from its metrics) and ``/metrics``, and the API's answer
when its database is gone."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, start_http_server
from psycopg import sql
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from services.api.app import create_app
from services.embedded import free_port
from services.store.consumer import make_article_handler, make_dead_letter_handler
from services.store.health import store_health
from services.store.metrics import ConsumerStates
from shared.config import Settings
from shared.consumer import Delivery, LoopStatus
from shared.events import TOPIC_DLQ, DeadLetter
from tests.store.seed_events import deliveries, seed_events


def _letter(stage: str, source_file: str, sha256: str, reason: str, seconds: int = 0) -> Delivery[DeadLetter]:
    letter = DeadLetter.model_validate(
        {"stage": stage, "reason": reason, "message": "m", "source_file": source_file, "sha256": sha256}
    )
    letter = letter.model_copy(update={"failed_at": letter.failed_at + timedelta(seconds=seconds)})
    return Delivery(letter, TOPIC_DLQ, 0, 0, 0)


def test_stats_count_articles_and_rejected_files(writer: Engine, store_database_url: str) -> None:
    make_article_handler(writer)(deliveries(seed_events()))
    make_dead_letter_handler(writer)(
        [
            _letter("ingest", "photo.jpg", "aa", "binary"),
            _letter("ingest", "photo.jpg", "aa", "binary", seconds=3),  # the same file failing again
            _letter("ingest", "huge.txt", "bb", "too_large"),
            _letter("enrich", "001.txt", "cc", "processing_failed"),
        ]
    )
    with TestClient(create_app(Settings(database_url=store_database_url))) as client:
        stats = client.get("/stats").json()
    assert {
        k: stats[k] for k in ("articles", "originals", "reprints", "entities", "rejected_files", "dead_letters")
    } == {
        "articles": 6,
        "originals": 5,
        "reprints": 1,
        "entities": 12,
        "rejected_files": 2,
        "dead_letters": 4,
    }
    assert stats["last_ingested_at"] == "2025-03-01T09:05:00Z"
    assert {"stage": "ingest", "reason": "binary", "count": 2} in stats["dead_letters_by_reason"]


@contextmanager
def _store_metrics(statuses: dict[str, LoopStatus]) -> Iterator[str]:
    """A store's metrics endpoint exporting these consumers' states (its own registry: not this process's)."""
    registry = CollectorRegistry()
    registry.register(ConsumerStates(statuses))
    server, _thread = start_http_server(free_port(), addr="127.0.0.1", registry=registry)
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _api_reading(address: str, database_url: str, tmp_path: Path) -> FastAPI:
    app = create_app(Settings(database_url=database_url, metrics_targets=[address], data_dir=tmp_path))
    # Read the store at every request rather than every 5 s: the test changes its states at once.
    app.state.sampler.interval_seconds = 0.1
    return app


def test_health_follows_the_consumers(store_database_url: str, tmp_path: Path) -> None:
    articles, letters = LoopStatus(), LoopStatus()
    statuses = {"articles": articles, "dead_letters": letters}
    with _store_metrics(statuses) as store, TestClient(_api_reading(store, store_database_url, tmp_path)) as client:
        starting = client.get("/health")
        assert starting.status_code == 503 and "joining" in starting.json()["reason"]
        articles.set("ok")
        ok = _after_a_sample(client)
        assert ok.status_code == 200 and ok.json()["status"] == "ok"
        assert ok.json()["consumers"]["dead_letters"]["state"] == "starting"
        articles.set("degraded", "database unavailable: connection refused")
        degraded = _after_a_sample(client).json()
        assert degraded["status"] == "degraded" and "consumer articles is degraded" in degraded["reason"]
        # The error itself is no label value: the store's own /health says it.
        assert store_health(statuses)[1]["reason"].endswith("database unavailable: connection refused")


def test_health_names_the_store_when_it_cannot_be_read(store_database_url: str, tmp_path: Path) -> None:
    silent = f"127.0.0.1:{free_port()}"
    with TestClient(_api_reading(silent, store_database_url, tmp_path)) as client:
        health = client.get("/health")
    assert health.status_code == 503
    assert health.json()["status"] == "degraded" and health.json()["database"]["state"] == "ok"
    assert health.json()["reason"].startswith("store: not reachable") and silent in health.json()["reason"]


def _after_a_sample(client: TestClient) -> httpx.Response:
    time.sleep(0.15)  # past the sampler's interval: the next request reads the store again
    return client.get("/health")


def test_database_down_gives_503_not_500() -> None:
    app = create_app(Settings(database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/none"))
    with TestClient(app, raise_server_exceptions=False) as client:
        health = client.get("/health")
        assert health.status_code == 503 and health.json()["database"]["state"] == "down"
        listing = client.get("/articles")
        assert listing.status_code == 503 and listing.headers["retry-after"]
        assert "unavailable" in listing.json()["detail"]


def _requests_counted(metrics: str, route: str, status: str) -> float:
    pattern = rf'^newsflow_store_api_requests_total{{method="GET",route="{re.escape(route)}",status="{status}"}} (\S+)$'
    match = re.search(pattern, metrics, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_metrics_by_route_template(client: TestClient) -> None:
    before = client.get("/metrics").text
    client.get("/articles/one-id")
    client.get("/articles/another-id")
    client.get("/articles", params={"limit": 0})
    after = client.get("/metrics").text
    route = "/articles/{article_id}"
    assert _requests_counted(after, route, "404") == _requests_counted(before, route, "404") + 2
    assert _requests_counted(after, "/articles", "422") == _requests_counted(before, "/articles", "422") + 1
    assert "one-id" not in after, "ids never become label values"
    assert "newsflow_store_api_request_seconds_bucket" in after


def test_openapi_documents_the_contract(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    params = {p["name"] for p in spec["paths"]["/articles"]["get"]["parameters"]}
    assert params == {
        "q", "entity", "type", "source", "story", "since", "until", "dated", "include_duplicates", "format", "sort",
        "limit", "cursor",
    }  # fmt: skip
    assert "404" in spec["paths"]["/articles/{article_id}"]["get"]["responses"]
    assert "/metrics" not in spec["paths"]


def test_api_runs_on_a_role_that_can_only_read(writer: Engine, store_database_url: str) -> None:
    make_article_handler(writer)(deliveries(seed_events()))
    role = f"newsflow_reader_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(store_database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        admin.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(sql.Identifier(role)))
    try:
        reader_url = make_url(store_database_url).set(username=role).render_as_string(hide_password=False)
        settings = Settings(database_url=store_database_url, api_database_url=reader_url)
        with TestClient(create_app(settings)) as client:
            assert len(client.get("/articles").json()["items"]) == 5
            assert client.get("/stats").json()["articles"] == 6
        with psycopg.connect(reader_url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM articles")
    finally:
        with psycopg.connect(store_database_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
