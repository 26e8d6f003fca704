"""The enrich service end to end through a real broker and a real Postgres: raw in, enriched out."""

from __future__ import annotations

import threading
import time

import pytest
from kafka import KafkaConsumer

from services.embedded import free_port
from services.enrich.dedupe.detector import ReprintDetector
from services.enrich.enricher import Enricher
from services.enrich.entities.tagger import EntityTagger
from services.enrich.handler import EnrichHandler
from services.enrich.main import run
from shared.config import Settings
from shared.consumer import Delivery, TransientError
from shared.db import make_engine
from shared.events import TOPIC_ENRICHED, TOPIC_RAW, EnrichedArticle
from shared.kafka import ensure_topics, make_producer
from tests.enrich.conftest import make_article, seed_article
from tests.enrich.variants import with_header_footer

_DEADLINE_SECONDS = 90.0


def test_service_enriches_raw_events_from_the_broker(settings: Settings, seed_texts: dict[str, str]) -> None:
    settings = settings.model_copy(update={"enrich_metrics_port": free_port()})
    ensure_topics(settings)
    seeds = [seed_article(name, text, minute=i) for i, (name, text) in enumerate(seed_texts.items())]
    reprint = make_article("reprint.txt", with_header_footer(seeds[1].body), title="Reprinted", minute=30)
    producer = make_producer(settings, client_id="test-ingest")
    for article in [*seeds, reprint]:
        producer.send(TOPIC_RAW, key=article.article_id.encode(), value=article.to_bytes()).get(timeout=30)
    producer.close()

    stop = threading.Event()
    service = threading.Thread(target=run, args=(settings, stop), daemon=True)
    service.start()
    consumer = KafkaConsumer(
        TOPIC_ENRICHED,
        bootstrap_servers=settings.require_kafka(),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    received: dict[str, EnrichedArticle] = {}
    try:
        deadline = time.monotonic() + _DEADLINE_SECONDS
        while len(received) < 6 and time.monotonic() < deadline and service.is_alive():
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    event = EnrichedArticle.model_validate_json(record.value)
                    assert record.key == event.article.article_id.encode()
                    received[event.article.article_id] = event
    finally:
        consumer.close()
        stop.set()
        service.join(timeout=30)
    assert not service.is_alive(), "run() must return promptly once stop is set"
    assert len(received) == 6
    for seed in seeds:
        assert received[seed.article_id].duplicate is None
    link = received[reprint.article_id].duplicate
    assert link is not None and link.duplicate_of == seeds[1].article_id and link.kind == "reprint"
    names = {(e.type, e.name) for event in received.values() for e in event.entities}
    assert {("PERSON", "Imran Khan"), ("PERSON", "Donald Trump"), ("PERSON", "Khawaja Asif"), ("ORG", "PTI")} <= names


def test_database_outage_is_a_transient_error(tagger: EntityTagger, seed_texts: dict[str, str]) -> None:
    """With the database unreachable the batch is retried later, never dead-lettered."""
    unreachable = make_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/newsflow")
    handler = EnrichHandler(
        Enricher(tagger, ReprintDetector(unreachable)),
        producer=None,  # type: ignore[arg-type]
        step_articles=16,
    )
    name, text = next(iter(seed_texts.items()))
    delivery = Delivery(seed_article(name, text), TOPIC_RAW, 0, 0, 0)
    with pytest.raises(TransientError, match="database"):
        handler([delivery])
    unreachable.dispose()
