"""Long articles in two phases (issue 19): published with their head's entities at once, tagged in full later.

Real Postgres (the reprint index) and a real broker: the handler publishes the head version and the
deferred request; the deferred tagger tags every piece, records the full entities in the index and
republishes; redeliveries of either message republish the full entities without tagging again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from kafka import KafkaConsumer, KafkaProducer
from sqlalchemy import Engine

from services.enrich import metrics
from services.enrich.dedupe.detector import ReprintDetector
from services.enrich.deferred import DeferredTagger
from services.enrich.enricher import Enricher
from services.enrich.entities import tagger as tagger_module
from services.enrich.entities.tagger import EntityTagger, PieceTagging, article_text
from services.enrich.handler import EnrichHandler
from services.enrich.turns import TaggingTurns
from shared.config import Settings
from shared.consumer import Delivery, TransientError
from shared.events import TOPIC_DEFERRED_TAGGING, TOPIC_ENRICHED, DeferredTagging, EnrichedArticle, RawArticle
from shared.kafka import ensure_topics, make_producer
from tests.enrich.conftest import make_article, read_seed

HEAD_CHARS = 3_000
PIECE_CHARS = 4_000
_POLL_SECONDS = 30.0


def _long_article() -> RawArticle:
    """A seed repeated well past the head, closing with a name that only the last paragraph holds."""
    _, seed = read_seed("001")
    body = "\n\n".join([seed] * 6) + "\n\nIn closing, Jacinda Ardern thanked the society of Wellington."
    return make_article("transcript.txt", body, title="Transcript of the session")


@pytest.fixture
def producer(kafka_bootstrap: str) -> Iterator[KafkaProducer]:
    settings = Settings(kafka_bootstrap_servers=kafka_bootstrap)
    ensure_topics(settings)
    producer = make_producer(settings, client_id="test-enrich")
    yield producer
    producer.close()


def _read(kafka_bootstrap: str, topic: str, count: int) -> list[bytes]:
    consumer = KafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    values: list[bytes] = []
    deadline = time.monotonic() + _POLL_SECONDS
    try:
        while len(values) < count and time.monotonic() < deadline:
            values += [r.value for records in consumer.poll(timeout_ms=500).values() for r in records]
    finally:
        consumer.close()
    return values


def _versions(kafka_bootstrap: str, count: int, article_id: str) -> list[EnrichedArticle]:
    """The enriched events of one article, in the order published (one key: one partition)."""
    events = [EnrichedArticle.model_validate_json(v) for v in _read(kafka_bootstrap, TOPIC_ENRICHED, count)]
    return [event for event in events if event.article.article_id == article_id]


def _names(event: EnrichedArticle) -> set[str]:
    return {entity.name for entity in event.entities}


def test_a_text_tagged_a_piece_at_a_time_has_the_entities_of_one_call(
    tagger: EntityTagger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tagger_module, "PIECE_CHARS", PIECE_CHARS)
    article = _long_article()
    tagging = PieceTagging(tagger, article_text(article))
    assert tagging.remaining > 3
    with pytest.raises(RuntimeError, match="not tagged yet"):
        tagging.entities()
    while tagging.remaining:
        tagging.step()
    assert tagging.entities() == tagger.tag([article])[0]


def test_a_long_article_is_published_with_its_head_then_republished_with_every_entity(
    tagger: EntityTagger, engine: Engine, producer: KafkaProducer, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tagger_module, "PIECE_CHARS", PIECE_CHARS)
    article, short = _long_article(), make_article("short.txt", "The mayor of Leeds opened the harbour.", minute=1)
    turns = TaggingTurns()
    enricher = Enricher(tagger, ReprintDetector(engine), head_chars=HEAD_CHARS)
    handler = EnrichHandler(enricher, producer, step_articles=16, turns=turns)
    raw = [Delivery(a, "news.raw.v1", 0, i, 0) for i, a in enumerate([article, short])]
    try:
        handler(raw)
        (first,) = _versions(kafka_bootstrap, 2, article.article_id)
        (first_short,) = _versions(kafka_bootstrap, 2, short.article_id)
        (request_bytes,) = _read(kafka_bootstrap, TOPIC_DEFERRED_TAGGING, 1)
        request = DeferredTagging.model_validate_json(request_bytes)
        assert first.entities_complete is False and first_short.entities_complete is True
        assert "Imran Khan" in _names(first) and "Jacinda Ardern" not in _names(first), "the head only"
        assert request.article_id == article.article_id and request.characters == len(article.body)

        deferred = DeferredTagger(tagger, engine, producer, turns, threading.Event())
        pieces_before = metrics.DEFERRED_PIECES._value.get()
        deferred([Delivery(request, TOPIC_DEFERRED_TAGGING, 0, 0, 0)])
        tagged_pieces = metrics.DEFERRED_PIECES._value.get() - pieces_before
        complete = _versions(kafka_bootstrap, 3, article.article_id)[1]
        assert complete.entities_complete is True
        assert complete.entities == tagger.tag([article])[0], "the same entities as tagging it whole"
        assert {"Imran Khan", "Jacinda Ardern"} <= _names(complete)
        assert complete.enriched_at > first.enriched_at, "a newer version the store takes"
        assert (complete.duplicate, complete.story_id, complete.article) == (first.duplicate, first.story_id, article)
        assert tagged_pieces == len(tagger_module.split_pieces(article_text(article), PIECE_CHARS))

        # The request redelivered (a crash after the publish): the recorded entities again, nothing tagged.
        deferred([Delivery(request, TOPIC_DEFERRED_TAGGING, 0, 0, 0)])
        again = _versions(kafka_bootstrap, 4, article.article_id)[2]
        assert again.entities == complete.entities and again.entities_complete
        assert again.enriched_at > complete.enriched_at, "newer than a head version published meanwhile"
        assert metrics.DEFERRED_PIECES._value.get() - pieces_before == tagged_pieces

        # The raw article redelivered: published complete at once, no second request.
        handler(raw[:1])
        redelivered = _versions(kafka_bootstrap, 5, article.article_id)[3]
        assert redelivered.entities == complete.entities and redelivered.entities_complete
        assert len(_read(kafka_bootstrap, TOPIC_DEFERRED_TAGGING, 2)) == 1
    finally:
        enricher.close()


def test_a_batch_waits_only_for_the_piece_being_tagged_and_pieces_wait_for_batches() -> None:
    turns, stop, order = TaggingTurns(), threading.Event(), []
    piece_started, release_piece = threading.Event(), threading.Event()

    def piece() -> None:
        with turns.piece(stop):
            piece_started.set()
            release_piece.wait(5)
            order.append("piece")

    def batch() -> None:
        with turns.batch():
            order.append("batch")

    first_piece = threading.Thread(target=piece)
    first_piece.start()
    assert piece_started.wait(5)
    waiting_batch = threading.Thread(target=batch)
    waiting_batch.start()
    time.sleep(0.2)
    assert order == [], "the batch waits for the piece in progress"
    with turns.batch():  # a batch in progress holds every further piece back
        release_piece.set()
        first_piece.join(5)
        waiting_batch.join(5)
        assert order == ["piece", "batch"]
        second_piece = threading.Thread(target=piece)
        second_piece.start()
        time.sleep(0.2)
        assert order == ["piece", "batch"], "no piece while a batch runs"
    second_piece.join(5)
    assert order == ["piece", "batch", "piece"]

    stop.set()
    with turns.batch(), pytest.raises(TransientError, match="stopping"), turns.piece(stop):
        pass
