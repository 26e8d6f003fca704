"""Webhooks (issue 26): each match POSTed once, signed with the watch's secret; retried with backoff;
given up after the limit, visibly (API and metrics); the outbox outlives the deliverer."""

from __future__ import annotations

import json
import textwrap
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import Engine, text

from bench.harness.live import webhook_receiver
from services.api.app import create_app
from services.store.consumer import make_article_handler
from services.store.watches.deliverer import Deliverer, wait_idle
from services.store.watches.signing import DELIVERY_HEADER, SIGNATURE_HEADER, verify
from shared.config import Settings
from tests.conftest import REPO_ROOT
from tests.store.seed_events import deliveries, seed_events


def settings_for(url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": url,
        "webhook_backoff_initial_seconds": 0.05,
        "webhook_max_attempts": 3,
        "webhook_poll_interval_seconds": 0.02,
    }
    values.update(overrides)
    return Settings.model_validate(values)


@pytest.fixture
def api(store_database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(store_database_url))) as client:
        yield client


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_each_match_is_posted_once_signed_with_the_watch_secret(
    api: TestClient, writer: Engine, store_database_url: str
) -> None:
    with webhook_receiver() as receiver:
        watch = api.post(
            "/watches", json={"name": "Khan", "entity": ["Imran Khan"], "webhook_url": receiver.url}
        ).json()
        events = seed_events()
        make_article_handler(writer)(deliveries(events))
        deliverer = Deliverer(settings_for(store_database_url), writer, None, threading.Event())
        before = _metric("newsflow_watch_deliveries_total", watch=str(watch["id"]), outcome="delivered")
        wait_idle(deliverer, 30)
    expected = [
        e.article.article_id for e in events if e.duplicate is None and any(x.name == "Imran Khan" for x in e.entities)
    ]
    assert len(expected) >= 4
    # Posted in parallel (up to PARALLEL_POSTS at once): in no promised order.
    assert sorted(json.loads(body)["data"]["id"] for _, body in receiver.requests) == sorted(expected)
    for headers, body in receiver.requests:
        assert verify(watch["secret"], body, headers[SIGNATURE_HEADER])
        assert not verify(watch["secret"], body + b" ", headers[SIGNATURE_HEADER])
        delivery = json.loads(body)
        assert headers[DELIVERY_HEADER] == delivery["delivery_id"] and delivery["watch_id"] == watch["id"]
        assert delivery["event"] == "article"
    assert receiver.duplicates == 0
    assert api.get(f"/watches/{watch['id']}").json()["deliveries"]["delivered"] == len(expected)
    after = _metric("newsflow_watch_deliveries_total", watch=str(watch["id"]), outcome="delivered")
    assert after - before == len(expected)
    assert _metric("newsflow_watch_delivery_seconds_count", watch=str(watch["id"])) >= len(expected)


def test_the_readme_recipe_verifies_a_real_delivery(api: TestClient, writer: Engine, store_database_url: str) -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    recipe = readme.split("To verify a delivery", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(textwrap.dedent(recipe), namespace)  # the README's code, as printed
    with webhook_receiver() as receiver:
        watch = api.post("/watches", json={"name": "all", "webhook_url": receiver.url}).json()
        make_article_handler(writer)(deliveries(seed_events()[:2]))
        wait_idle(Deliverer(settings_for(store_database_url), writer, None, threading.Event()), 30)
    assert len(receiver.requests) == 2
    for headers, body in receiver.requests:
        assert namespace["verified"](watch["secret"], body, headers[SIGNATURE_HEADER])
        assert not namespace["verified"]("another secret", body, headers[SIGNATURE_HEADER])


def test_a_failing_receiver_is_retried_with_backoff_then_given_up_visibly(
    api: TestClient, writer: Engine, store_database_url: str
) -> None:
    settings = settings_for(store_database_url)
    with webhook_receiver() as receiver:
        # The first article's POST fails twice then succeeds; the second's fails every time (3 tries).
        receiver.failures = [500, 500]
        watch = api.post("/watches", json={"name": "all", "webhook_url": receiver.url}).json()
        make_article_handler(writer)(deliveries(seed_events()[:1]))
        stop = threading.Event()
        deliverer = Deliverer(settings, writer, None, stop)
        thread = threading.Thread(target=deliverer.run)
        thread.start()
        _wait(lambda: api.get(f"/watches/{watch['id']}").json()["deliveries"]["delivered"] == 1)
        times = [time.monotonic()]
        receiver.failures = [503, 503, 503]
        make_article_handler(writer)(deliveries(seed_events()[1:2], 1))
        _wait(lambda: api.get(f"/watches/{watch['id']}").json()["deliveries"]["failed"] == 1)
        times.append(time.monotonic())
        stop.set()
        thread.join()
    counts = api.get(f"/watches/{watch['id']}").json()["deliveries"]
    assert counts["pending"] == 0 and counts["delivered"] == 1 and counts["failed"] == 1
    assert counts["last_error"] == "HTTP 503" and counts["last_error_at"] is not None
    assert len(receiver.requests) == 3 + 3
    # Three tries of the second article, the waits between them 0.05 s then 0.1 s (doubling).
    assert times[1] - times[0] >= 0.15
    assert _metric("newsflow_watch_deliveries_total", watch=str(watch["id"]), outcome="failed") == 1
    assert _metric("newsflow_watch_deliveries_total", watch=str(watch["id"]), outcome="retried") == 4


def test_the_outbox_survives_a_deliverer_that_stopped_and_an_unreachable_receiver(
    api: TestClient, writer: Engine, store_database_url: str
) -> None:
    settings = settings_for(store_database_url, webhook_max_attempts=20)
    with webhook_receiver() as receiver:
        url = receiver.url
    # The receiver is gone: tries fail (connection refused) and stay pending.
    watch = api.post("/watches", json={"name": "all", "include_duplicates": True, "webhook_url": url}).json()
    events = seed_events()
    make_article_handler(writer)(deliveries(events))
    Deliverer(settings, writer, None, threading.Event()).step()
    counts = api.get(f"/watches/{watch['id']}").json()["deliveries"]
    assert counts["pending"] == len(events) and "Connection refused" in (counts["last_error"] or "")
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with webhook_receiver(port) as receiver:  # back, on the same address; a new deliverer (a restart)
        with writer.begin() as conn:
            conn.execute(text("UPDATE watch_matches SET next_attempt_at = now()"))
        wait_idle(Deliverer(settings, writer, None, threading.Event()), 30)
    assert sorted(receiver.by_id) == sorted(f"{watch['id']}-{seq}" for seq in _seqs(writer, watch["id"]))
    assert receiver.duplicates == 0
    assert api.get(f"/watches/{watch['id']}").json()["deliveries"]["delivered"] == len(events)


def test_a_webhook_host_removed_from_the_allow_list_is_not_posted_to(
    api: TestClient, writer: Engine, store_database_url: str
) -> None:
    with webhook_receiver() as receiver:
        watch = api.post("/watches", json={"name": "all", "webhook_url": receiver.url}).json()
        make_article_handler(writer)(deliveries(seed_events()[:1]))
        narrowed = settings_for(store_database_url, webhook_allowed_hosts="hooks.example.org", webhook_max_attempts=1)
        wait_idle(Deliverer(narrowed, writer, None, threading.Event()), 10)
    assert receiver.requests == []
    counts = api.get(f"/watches/{watch['id']}").json()["deliveries"]
    assert counts["failed"] == 1 and "not in the webhook allow-list" in counts["last_error"]


def _seqs(writer: Engine, watch_id: int) -> list[int]:
    with writer.connect() as conn:
        return [
            row.seq for row in conn.execute(text("SELECT seq FROM watch_matches WHERE watch_id = :w"), {"w": watch_id})
        ]


def _wait(condition: object, timeout_seconds: float = 20) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
