"""Wiring of the enrich service: topics, metrics, model, database, producer, consumer loop."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine, text

from services.enrich.dedupe.detector import ReprintDetector
from services.enrich.enricher import Enricher
from services.enrich.entities.model import load_ner
from services.enrich.entities.tagger import EntityTagger
from services.enrich.handler import EnrichHandler
from services.enrich.metrics import init_enrich_metrics
from services.enrich.stories.metrics import init_story_metrics
from shared.config import Settings
from shared.consumer import ConsumerLoop
from shared.db import make_engine
from shared.events import TOPIC_RAW, RawArticle
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
    enricher = Enricher(
        EntityTagger(nlp, batch_size=settings.ner_batch_size),
        ReprintDetector(engine),
        reuse_copy_entities=settings.reuse_copy_entities,
    )
    loop = ConsumerLoop(
        settings,
        stage="enrich",
        group_id=GROUP_ID,
        topic=TOPIC_RAW,
        schema=RawArticle,
        handle=EnrichHandler(enricher, producer, step_articles=settings.enrich_step_articles),
        producer=producer,
        stop=stop,
        client_id="newsflow-enrich",
    )
    try:
        loop.run()
    finally:
        enricher.close()
        producer.close(timeout=_PRODUCER_CLOSE_TIMEOUT_SECONDS)
        engine.dispose()
        log.info("enrich stopped")


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
