"""The store's batch handlers for the shared consumer loop: enriched articles and dead letters.

Each handler writes its whole batch in ONE transaction and returns only once it committed, so
the loop commits offsets only for durable work. Database failures that may heal by themselves
(connection lost, server restarting, a statement or lock timeout, a deadlock) become
``TransientError``: the loop keeps the offsets and retries the batch with backoff. An event that
can never be stored becomes ``RejectedEvent`` and goes to the dead-letter topic.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import NoReturn

from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc

from services.store.db.transient import is_transient
from services.store.db.writes import insert_dead_letters, upsert_articles
from services.store.metrics import DB_ERRORS, END_TO_END_SECONDS, TRANSACTION_SECONDS, UNCHANGED, UPSERTS
from services.store.watches.feed import record_new_articles
from services.store.watches.metrics import count_feed
from shared.config import Settings, get_settings
from shared.consumer import Delivery, RejectedEvent, TransientError
from shared.events import DeadLetter, EnrichedArticle, utcnow

log = logging.getLogger(__name__)


def _nul_field(event: EnrichedArticle) -> str | None:
    """The name of a text field holding a NUL character (Postgres text cannot store one), if any."""
    article = event.article
    fields: dict[str, str | None] = {
        "article.title": article.title,
        "article.derived_title": article.derived_title,
        "article.body": article.body,
        "article.source_file": article.source_file,
        "article.dateline": article.dateline,
        "article.source": article.source,
        "article.byline": article.byline,
        "article.url": article.url,
        "story_id": event.story_id,
    }
    fields.update({f"article.boilerplate[{i}]": text for i, text in enumerate(article.boilerplate)})
    for i, entity in enumerate(event.entities):
        fields[f"entities[{i}].name"] = entity.name
        fields.update({f"entities[{i}].mentions[{j}]": m for j, m in enumerate(entity.mentions)})
    return next((name for name, value in fields.items() if value and "\x00" in value), None)


def _check_storable(event: EnrichedArticle) -> None:
    article = event.article
    bad_field = _nul_field(event)
    if bad_field:
        raise RejectedEvent(
            "unstorable_text",
            f"Article {article.article_id} from {article.source_file!r}: field {bad_field} contains a NUL "
            "character, which Postgres text cannot hold. Remove it from the file and drop the file again.",
        )
    if event.duplicate and event.duplicate.duplicate_of == article.article_id:
        raise RejectedEvent(
            "self_duplicate",
            f"Article {article.article_id} from {article.source_file!r} is marked a duplicate of itself; "
            "the enrich service must link a reprint to a different, earlier article.",
        )


def make_article_handler(
    engine: Engine, settings: Settings | None = None
) -> Callable[[Sequence[Delivery[EnrichedArticle]]], None]:
    """The handler for ``news.enriched.v1``: upsert the batch's articles and entities in one transaction.

    The same transaction adds each newly stored article to the watches' feed with its matches
    (``services.store.watches.feed``); ``settings`` gives the breaking-story thresholds.
    """
    feed_settings = settings or get_settings()

    def handle(deliveries: Sequence[Delivery[EnrichedArticle]]) -> None:
        events = [delivery.event for delivery in deliveries]
        for event in events:
            _check_storable(event)
        started = time.perf_counter()
        try:
            with engine.begin() as conn:
                result = upsert_articles(conn, events)
                new = [e.article.article_id for e in result.stored if e.article.article_id in result.inserted]
                fed = record_new_articles(conn, new, feed_settings)
        except sa_exc.SQLAlchemyError as exc:
            _raise_classified("articles", exc)
        committed_at = utcnow()
        count_feed(fed)
        TRANSACTION_SECONDS.labels("articles").observe(time.perf_counter() - started)
        UPSERTS.labels("articles").inc(len(result.stored))
        UPSERTS.labels("entities").inc(result.entities)
        UPSERTS.labels("article_entities").inc(result.links)
        UNCHANGED.labels("articles").inc(result.unchanged)
        for event in result.stored:
            # Timed once, when the article is first stored: a newer version of it (a reprint link
            # corrected, a replay) is not a file arriving.
            if event.article.article_id in result.inserted:
                latency = max(0.0, (committed_at - event.article.received_at).total_seconds())
                END_TO_END_SECONDS.labels(event.article.origin).observe(latency)
            log.info(
                "article stored",
                extra={
                    "article_id": event.article.article_id,
                    "source_file": event.article.source_file,
                    "entities": len(event.entities),
                    "duplicate_of": event.duplicate.duplicate_of if event.duplicate else None,
                },
            )
        if result.unchanged:
            log.info("redelivered articles already stored", extra={"count": result.unchanged})

    return handle


def make_dead_letter_handler(engine: Engine) -> Callable[[Sequence[Delivery[DeadLetter]]], None]:
    """The handler for ``news.dlq.v1``: keep every dead letter so /stats can count rejected files."""

    def handle(deliveries: Sequence[Delivery[DeadLetter]]) -> None:
        started = time.perf_counter()
        try:
            with engine.begin() as conn:
                new = insert_dead_letters(conn, [delivery.event for delivery in deliveries])
        except sa_exc.SQLAlchemyError as exc:
            _raise_classified("dead_letters", exc)
        TRANSACTION_SECONDS.labels("dead_letters").observe(time.perf_counter() - started)
        UPSERTS.labels("dead_letters").inc(new)
        UNCHANGED.labels("dead_letters").inc(len(deliveries) - new)

    return handle


def _raise_classified(handler: str, exc: sa_exc.SQLAlchemyError) -> NoReturn:
    """Re-raise ``exc`` as TransientError (retry the batch) or unchanged (the loop isolates the event)."""
    if is_transient(exc):
        DB_ERRORS.labels(handler, "transient").inc()
        detail = str(getattr(exc, "orig", None) or exc).strip()
        reason = detail.splitlines()[0] if detail else type(exc).__name__
        raise TransientError(f"database unavailable: {reason}") from exc
    DB_ERRORS.labels(handler, "permanent").inc()
    raise exc
