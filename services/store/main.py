"""The store service's wiring: the writer's two consumer loops and the watches' deliverer in one process.

- ``news.enriched.v1`` (group ``newsflow-store``) -> articles, entities and their links;
- ``news.dlq.v1`` (group ``newsflow-store-dlq``) -> ``dead_letters``, which is how ``/stats``
  counts rejected files (the topic is the one place every stage writes failures down);
- the watches' deliverer: webhooks from the outbox, ``story.breaking`` to ``news.alerts.v1``;
- ``/metrics`` and a small ``/health`` on ``metrics_host:store_metrics_port``. The consumers'
  states are metrics too (``newsflow_store_consumer_state``): the read API, its own process
  (``services.api``), reports them on its ``/health`` from there.

``run`` returns once ``stop`` is set, or raises if a part died (the supervisor restarts us).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from alembic.script import ScriptDirectory
from prometheus_client import REGISTRY
from sqlalchemy import Engine, text
from sqlalchemy import exc as sa_exc

from services.store.consumer import make_article_handler, make_dead_letter_handler
from services.store.db.session import make_writer_engine
from services.store.health import store_health
from services.store.metrics import ConsumerStates
from services.store.watches.deliverer import Deliverer
from shared.config import Settings
from shared.consumer import ConsumerLoop
from shared.db import MIGRATION_SETS
from shared.events import TOPIC_DLQ, TOPIC_ENRICHED, DeadLetter, EnrichedArticle
from shared.kafka import ensure_topics, make_producer
from shared.metrics import serve_metrics

log = logging.getLogger(__name__)

ARTICLES_GROUP = "newsflow-store"
DEAD_LETTERS_GROUP = "newsflow-store-dlq"
_WATCH_INTERVAL_SECONDS = 0.5
_THREAD_JOIN_SECONDS = 15.0
_SCHEMA_WAIT_SECONDS = 60.0


def run(settings: Settings, stop: threading.Event) -> None:
    """Consume enriched articles and dead letters into Postgres and deliver webhooks until ``stop``."""
    ensure_topics(settings)
    writer = make_writer_engine(settings)
    _wait_for_schema(writer, stop)
    producer = make_producer(settings, client_id="newsflow-store")
    articles_loop: ConsumerLoop[EnrichedArticle] = ConsumerLoop(
        settings,
        stage="store",
        group_id=ARTICLES_GROUP,
        topic=TOPIC_ENRICHED,
        schema=EnrichedArticle,
        handle=make_article_handler(writer, settings),
        producer=producer,
        stop=stop,
        client_id="newsflow-store",
    )
    dead_letters_loop: ConsumerLoop[DeadLetter] = ConsumerLoop(
        settings,
        stage="store",
        group_id=DEAD_LETTERS_GROUP,
        topic=TOPIC_DLQ,
        schema=DeadLetter,
        handle=make_dead_letter_handler(writer),
        producer=producer,
        stop=stop,
        client_id="newsflow-store-dlq",
    )
    statuses = {"articles": articles_loop.status, "dead_letters": dead_letters_loop.status}
    consumer_states = ConsumerStates(statuses)
    REGISTRY.register(consumer_states)
    stop_serving = serve_metrics(
        settings.metrics_host, settings.store_metrics_port, health=lambda: store_health(statuses)
    )
    # Its own engine: the consumers' pool is sized for them, and a slow receiver must not hold their connections.
    outbox = make_writer_engine(settings)
    deliverer = Deliverer(settings, outbox, producer, stop)
    failures: list[str] = []
    threads = [
        _thread("store-articles", articles_loop.run, failures),
        _thread("store-dead-letters", dead_letters_loop.run, failures),
        _thread("store-webhooks", deliverer.run, failures),
    ]
    for thread in threads:
        thread.start()
    log.info("store started", extra={"metrics": f"http://{settings.metrics_host}:{settings.store_metrics_port}"})
    try:
        while not stop.wait(_WATCH_INTERVAL_SECONDS):
            dead = [thread.name for thread in threads if not thread.is_alive()]
            if dead:
                raise RuntimeError(f"store part(s) stopped unexpectedly: {', '.join(dead)}; {'; '.join(failures)}")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=_THREAD_JOIN_SECONDS)
        producer.close(timeout=5)
        writer.dispose()
        outbox.dispose()
        stop_serving()
        REGISTRY.unregister(consumer_states)
        log.info("store stopped")


def _thread(name: str, target: Callable[[], None], failures: list[str]) -> threading.Thread:
    def guarded() -> None:
        try:
            target()
        except BaseException as exc:  # reported to run(), which stops the process
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
            log.exception("store part failed", extra={"part": name})

    return threading.Thread(target=guarded, name=name, daemon=True)


def _wait_for_schema(engine: Engine, stop: threading.Event) -> None:
    """Wait until the store's migrations are at head (``newsflow migrate`` or the supervisor applies them)."""
    head = ScriptDirectory(str(MIGRATION_SETS["store"])).get_current_head()
    waited = 0.0
    current: str | None = None
    while not stop.is_set():
        try:
            with engine.connect() as conn:
                current = conn.execute(text("SELECT version_num FROM alembic_version_store")).scalar()
        except sa_exc.ProgrammingError:
            current = None  # no version table yet
        except sa_exc.OperationalError as exc:
            log.warning("database not reachable yet", extra={"error": str(exc.orig or exc).splitlines()[0]})
        if current == head:
            return
        if waited >= _SCHEMA_WAIT_SECONDS:
            raise RuntimeError(
                f"the store's database schema is at {current or 'nothing'}, not {head}: "
                "run `newsflow migrate` (or start everything with `newsflow run`)."
            )
        stop.wait(1.0)
        waited += 1.0
