"""Breaking stories (issue 26): the seeds plus four new articles from four more outlets about the same event
fire exactly one ``story.breaking``: on the stream, to the webhooks of watches that ask, on
``news.alerts.v1``, and as a marker on /dashboard. The four articles are in ``tests/store/breaking``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from bench.harness.live import webhook_receiver
from services.api.app import create_app
from services.ingest.articles import raw_articles
from services.ingest.parsing.formats import parse_file
from services.store.consumer import make_article_handler
from services.store.watches.deliverer import Deliverer, wait_idle
from shared.config import Settings
from shared.events import TOPIC_ALERTS, EnrichedArticle, StoryBreaking
from shared.identity import sha256_hex
from shared.kafka import ensure_topics, make_consumer, make_producer
from tests.store.seed_events import BASE_TIME, deliveries, seed_events

FOUR_MORE = sorted((Path(__file__).parent / "breaking").glob("*.json"))
STORY = "story-khan-release"
# The seeds credit two outlets (IANS, and the reprint's Wire): two plus four.
THRESHOLD = 6


def story_events(minutes_after_seeds: float = 10) -> tuple[list[EnrichedArticle], list[EnrichedArticle]]:
    """The seeds and the four new articles, all of one story, the new ones ingested a minute apart."""
    seeds = [event.model_copy(update={"story_id": STORY}) for event in seed_events()]
    new = []
    for i, path in enumerate(FOUR_MORE):
        data = path.read_bytes()
        at = BASE_TIME + timedelta(minutes=minutes_after_seeds + i)
        (article,) = raw_articles(
            parse_file(path.name, data, max_bytes=1_000_000),
            source_file=path.name,
            sha256=sha256_hex(data),
            size_bytes=len(data),
            received_at=at,
        )
        article = article.model_copy(update={"ingested_at": at})
        new.append(
            EnrichedArticle(
                article=article,
                content_hash=sha256_hex(article.body.encode()),
                story_id=STORY,
                enriched_at=at,
            )
        )
    return seeds, new


def settings_for(url: str, **more: object) -> Settings:
    return Settings.model_validate(
        {"database_url": url, "breaking_min_sources": THRESHOLD, "stream_max_seconds": 0.3, **more}
    )


@pytest.fixture
def api(store_database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(store_database_url))) as client:
        yield client


def _alerts(writer: Engine) -> list[StoryBreaking]:
    with writer.connect() as conn:
        rows = conn.execute(text("SELECT payload FROM watch_feed WHERE kind = 'story.breaking' ORDER BY seq"))
        return [StoryBreaking.model_validate_json(row.payload) for row in rows]


def test_seeds_plus_four_more_sources_fire_exactly_one_story_breaking(
    api: TestClient, writer: Engine, store_database_url: str
) -> None:
    settings = settings_for(store_database_url)
    handle = make_article_handler(writer, settings)
    seeds, new = story_events()
    assert {a.article.source for a in new} == {"Reuters", "Al Jazeera", "The Express Tribune", "Voice of America"}
    with webhook_receiver() as receiver:
        asks = api.post("/watches", json={"name": "b", "breaking": True, "q": "nothing-matches-this"}).json()
        hooked = api.post("/watches", json={"name": "h", "breaking": True, "webhook_url": receiver.url}).json()
        ignores = api.post("/watches", json={"name": "n", "entity": ["Imran Khan"]}).json()
        handle(deliveries(seeds))
        handle(deliveries(new[:3], 10))
        assert _alerts(writer) == [], "five sources are below the threshold"
        handle(deliveries(new[3:], 13))
        handle(deliveries(seeds + new, 20))  # redelivered: nothing new, nothing fires again
        wait_idle(Deliverer(settings, writer, None, threading.Event()), 30)
    (alert,) = _alerts(writer)
    assert alert.story_id == STORY and alert.article_count == len(seeds) + len(new)
    assert alert.sources == sorted(["ians", "wire", "reuters", "al jazeera", "the express tribune", "voice of america"])
    # The stream, with breaking=true: the story.breaking event among the articles; without it, none.
    body = api.get("/stream", params={"after": 0, "breaking": True, "include_duplicates": True}).text
    assert body.count("event: story.breaking\n") == 1 and f'"story_id":"{STORY}"' in body
    assert "story.breaking" not in api.get("/stream", params={"after": 0, "include_duplicates": True}).text
    assert api.get("/stream", params={"after": 0, "watch": asks["id"]}).text.count("event: story.breaking") == 1
    assert "story.breaking" not in api.get("/stream", params={"after": 0, "watch": ignores["id"]}).text
    # The webhook of the watch that asks: one delivery of kind story.breaking, besides its articles.
    kinds = [json.loads(body)["event"] for _, body in receiver.requests]
    assert kinds.count("story.breaking") == 1 and kinds.count("article") == len(seeds) - 1 + len(new)
    assert api.get(f"/watches/{hooked['id']}").json()["deliveries"]["delivered"] == len(kinds)
    # The dashboard's marker.
    breaking = api.get("/dashboard/data").json()["breaking_stories"]
    assert [b["story_id"] for b in breaking] == [STORY] and breaking[0]["sources"] == THRESHOLD


def test_sources_outside_the_window_do_not_count(writer: Engine, store_database_url: str) -> None:
    settings = settings_for(store_database_url, breaking_window_seconds=3600)
    handle = make_article_handler(writer, settings)
    seeds, new = story_events(minutes_after_seeds=120)  # two hours after the seeds: four sources in the window
    handle(deliveries(seeds))
    handle(deliveries(new, 10))
    assert _alerts(writer) == []


def test_story_breaking_is_published_to_news_alerts(
    writer: Engine, store_database_url: str, kafka_bootstrap: str
) -> None:
    settings = settings_for(store_database_url, kafka_bootstrap_servers=kafka_bootstrap)
    ensure_topics(settings)
    seeds, new = story_events()
    make_article_handler(writer, settings)(deliveries(seeds + new))
    producer = make_producer(settings, client_id="test-alerts")
    deliverer = Deliverer(settings, writer, producer, threading.Event())
    wait_idle(deliverer, 30)
    wait_idle(deliverer, 30)  # published once: the second round finds nothing to publish
    producer.close(timeout=5)
    consumer = make_consumer(settings, group_id="test-alerts", client_id="test-alerts")
    consumer.subscribe([TOPIC_ALERTS])
    received = []
    for _ in range(40):
        for records in consumer.poll(timeout_ms=250).values():
            received += [StoryBreaking.model_validate_json(record.value) for record in records]
        if received:
            break
    consumer.close()
    assert [(alert.story_id, alert.kind) for alert in received] == [(STORY, "story.breaking")]
    with writer.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM watch_feed WHERE published_at IS NOT NULL")).scalar() == 1
