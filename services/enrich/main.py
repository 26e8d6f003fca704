"""Wiring of the enrich service: topics, metrics, model, database, producer, consumer loops.

Two loops share the model: the main one over ``news.raw.v1`` and, on a second thread, the deferred
tagger over ``news.entities.deferred.v1`` (long articles' full tagging), which takes turns with the
main loop's batches (``turns``). Either loop failing stops both, and the supervisor restarts enrich.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Engine, text

from services.enrich import deferred
from services.enrich.dedupe.detector import ReprintDetector
from services.enrich.enricher import Enricher
from services.enrich.entities.model import load_ner
from services.enrich.entities.tagger import EntityTagger
from services.enrich.handler import EnrichHandler
from services.enrich.metrics import init_enrich_metrics
from services.enrich.stories.metrics import init_story_metrics
from services.enrich.turns import TaggingTurns
from shared.config import Settings
from shared.consumer import ConsumerLoop
from shared.db import make_engine
from shared.events import TOPIC_DEFERRED_TAGGING, TOPIC_RAW, DeferredTagging, RawArticle
from shared.kafka import ensure_topics, make_producer
from shared.metrics import serve_metrics

log = logging.getLogger(__name__)

GROUP_ID = "newsflow-enrich"
_PRODUCER_CLOSE_TIMEOUT_SECONDS = 10.0


def run(settings: Settings, stop: threading.Event) -> None:
    """Run the enrich service until ``stop`` is set."""
    database_url = settings.require_database()
    ensure_topics(settings)
    init_enrich_metrics()
    init_story_metrics()
    serve_metrics(settings.metrics_host, settings.enrich_metrics_port)
    nlp = load_ner(settings.spacy_model)
    engine = make_engine(database_url, application_name="newsflow-enrich")
    _require_schema(engine)
    producer = make_producer(settings, client_id="newsflow-enrich")
    tagger = EntityTagger(nlp, batch_size=settings.ner_batch_size)
    turns = TaggingTurns()
    enricher = Enricher(
        tagger,
        ReprintDetector(engine),
        reuse_copy_entities=settings.reuse_copy_entities,
        head_chars=settings.entity_head_chars,
    )
    loop = ConsumerLoop(
        settings,
        stage="enrich",
        group_id=GROUP_ID,
        topic=TOPIC_RAW,
        schema=RawArticle,
        handle=EnrichHandler(enricher, producer, step_articles=settings.enrich_step_articles, turns=turns),
        producer=producer,
        stop=stop,
        client_id="newsflow-enrich",
    )
    deferred_loop = ConsumerLoop(
        # One long article per poll: each takes minutes, and a batch's offsets are committed together.
        settings.model_copy(update={"kafka_max_poll_records": 1}),
        stage="enrich",
        group_id=deferred.GROUP_ID,
        topic=TOPIC_DEFERRED_TAGGING,
        schema=DeferredTagging,
        handle=deferred.DeferredTagger(tagger, engine, producer, turns, stop),
        producer=producer,
        stop=stop,
        client_id="newsflow-enrich-deferred",
    )
    failures: list[BaseException] = []
    deferred_thread = threading.Thread(
        target=_run_or_stop, args=(deferred_loop.run, stop, failures), name="enrich-deferred", daemon=True
    )
    deferred_thread.start()
    try:
        _run_or_stop(loop.run, stop, failures)
    finally:
        stop.set()
        deferred_thread.join()
        enricher.close()
        producer.close(timeout=_PRODUCER_CLOSE_TIMEOUT_SECONDS)
        engine.dispose()
        log.info("enrich stopped")
    if failures:
        raise failures[0]


def _run_or_stop(run: Callable[[], None], stop: threading.Event, failures: list[BaseException]) -> None:
    """Run one consumer loop; if it fails, keep the error and stop the other loop too."""
    try:
        run()
    except BaseException as exc:
        failures.append(exc)
        log.exception("consumer loop failed: stopping enrich")
        stop.set()


def _require_schema(engine: Engine) -> None:
    """Fail at start-up, with the fix, when the enrich migrations were not applied."""
    with engine.connect() as conn:
        present = conn.execute(
            text("SELECT to_regclass('enrich.articles') IS NOT NULL AND to_regclass('enrich.stories') IS NOT NULL")
        ).scalar()
    if not present:
        raise RuntimeError(
            "The enrich schema is missing or out of date in the database: run `newsflow migrate` "
            "(or `newsflow migrate --service enrich`) before starting enrich."
        )
