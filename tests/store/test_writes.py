"""The article and dead-letter handlers against a real Postgres: idempotence, versions, and failures.

Failures are real: a session terminated by the server mid-transaction, a lock held by another
session (a stalled database), and an address where no server listens.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import Engine, text

from services.embedded import free_port
from services.store.consumer import make_article_handler, make_dead_letter_handler
from services.store.db.session import make_writer_engine
from services.store.db.writes import upsert_articles
from shared.config import Settings
from shared.consumer import Delivery, RejectedEvent, TransientError
from shared.events import TOPIC_DLQ, DeadLetter, EntityRef
from shared.identity import entity_id
from tests.store.conftest import snapshot
from tests.store.seed_events import by_prefix, deliveries, seed_events

_WAIT_SECONDS = 10.0


def _scalar(engine: Engine, sql: str, **params: object) -> object:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def _clean_run(writer: Engine) -> dict[str, list[tuple[object, ...]]]:
    make_article_handler(writer)(deliveries(seed_events()))
    return snapshot(writer)


def test_redelivery_changes_nothing(writer: Engine) -> None:
    handle = make_article_handler(writer)
    events = seed_events()
    handle(deliveries(events))
    first = snapshot(writer)
    assert len(first["articles"]) == 6 and len(first["entities"]) == 12

    # Every event three more times, shuffled, in batches of mixed sizes (duplicates inside a batch too).
    redelivered = events * 3
    random.Random(7).shuffle(redelivered)
    for start in range(0, len(redelivered), 5):
        handle(deliveries(redelivered[start : start + 5]))
    assert snapshot(writer) == first


def test_newer_enrichment_replaces_but_keeps_first_ingest(writer: Engine) -> None:
    handle = make_article_handler(writer)
    seeds = by_prefix(seed_events())
    original = seeds["001"]
    handle(deliveries([original]))
    later = original.model_copy(
        update={
            "article": original.article.model_copy(
                update={
                    "ingested_at": original.article.ingested_at + timedelta(hours=1),
                    "received_at": original.article.received_at + timedelta(hours=1),
                    "title": "A corrected headline",
                }
            ),
            # Tuberville is no longer tagged; a new entity is.
            "entities": [
                *original.entities[:-1],
                EntityRef(id=entity_id("ORG", "X"), name="X", type="ORG", mentions=["X"], count=1),
            ],
            "enriched_at": original.enriched_at + timedelta(hours=1),
        }
    )
    handle(deliveries([later]))
    article_id = original.article.article_id
    with writer.connect() as conn:
        row = conn.execute(
            text("SELECT title, ingested_at, received_at FROM articles WHERE article_id = :id"), {"id": article_id}
        ).one()
    assert row.title == "A corrected headline"
    assert row.ingested_at == original.article.ingested_at, "the first ingested_at is kept"
    assert row.received_at == original.article.received_at, "the earliest received_at is kept"
    tuberville = entity_id("PERSON", "Tommy Tuberville")
    assert _scalar(writer, "SELECT article_count FROM entities WHERE id = :id", id=tuberville) == 0
    assert _scalar(writer, "SELECT article_count FROM entities WHERE id = :id", id=entity_id("ORG", "X")) == 1

    # The older version arriving late changes nothing.
    before = snapshot(writer)
    handle(deliveries([original]))
    assert snapshot(writer) == before


def test_article_count_counts_originals(writer: Engine) -> None:
    make_article_handler(writer)(deliveries(seed_events()))
    counted = _scalar(writer, "SELECT article_count FROM entities WHERE id = :id", id=entity_id("PERSON", "Imran Khan"))
    linked = _scalar(
        writer, "SELECT count(*) FROM article_entities WHERE entity_id = :id", id=entity_id("PERSON", "Imran Khan")
    )
    assert (counted, linked) == (5, 6), "the reprint is linked but folded into its original's count"


def test_unstorable_events_are_rejected_with_the_field_named(writer: Engine) -> None:
    seed = by_prefix(seed_events())["002"]
    with_nul = seed.model_copy(update={"article": seed.article.model_copy(update={"byline": "A\x00B"})})
    with pytest.raises(RejectedEvent) as rejected:
        make_article_handler(writer)(deliveries([with_nul]))
    assert rejected.value.reason == "unstorable_text" and "article.byline" in rejected.value.message
    assert seed.article.source_file in rejected.value.message
    assert _scalar(writer, "SELECT count(*) FROM articles") == 0


def test_unreachable_database_is_transient() -> None:
    engine = make_writer_engine(Settings(database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/none"))
    with pytest.raises(TransientError, match="database unavailable"):
        make_article_handler(engine)(deliveries(seed_events()[:1]))
    engine.dispose()


def _wait_for_blocked_writer(admin_url: str) -> int:
    """The pid of the store's session once it waits on a lock (it is then mid-transaction)."""
    deadline = time.monotonic() + _WAIT_SECONDS
    with psycopg.connect(admin_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'newsflow-store' "
                "AND wait_event_type = 'Lock' AND datname = current_database()"
            ).fetchone()
            if row:
                return int(row[0])
            time.sleep(0.02)
    raise AssertionError("the writer never blocked")


def test_session_killed_mid_batch_then_retried_matches_a_clean_run(
    writer: Engine, store_database_url: str, database_url: str
) -> None:
    handle = make_article_handler(writer)
    events = seed_events()
    outcome: list[BaseException | None] = []

    def attempt() -> None:
        try:
            handle(deliveries(events * 3))  # every event three times, in one batch
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001  # reported to the test thread
            outcome.append(exc)

    with psycopg.connect(store_database_url) as blocker:
        # Let the article rows go in, then hold the entities table so the batch stops half-way.
        blocker.execute("LOCK TABLE entities IN SHARE ROW EXCLUSIVE MODE")
        worker = threading.Thread(target=attempt)
        worker.start()
        pid = _wait_for_blocked_writer(store_database_url)
        with psycopg.connect(store_database_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        worker.join(_WAIT_SECONDS)
        blocker.rollback()
    assert isinstance(outcome[0], TransientError), outcome
    assert _scalar(writer, "SELECT count(*) FROM articles") == 0, "the half-done batch was rolled back"

    handle(deliveries(events * 3))  # what the consumer loop does next: the same batch again
    after_retry = snapshot(writer)
    with writer.begin() as conn:
        conn.execute(text("TRUNCATE articles, entities, article_entities, article_listings, dead_letters"))
    clean = _clean_run(writer)
    assert _strip_times(after_retry) == _strip_times(clean)


def _strip_times(tables: dict[str, list[tuple[object, ...]]]) -> dict[str, list[tuple[object, ...]]]:
    # stored_at / first_seen_at record when the rows were written, which differs between the runs.
    return {
        "articles": [row[:19] + row[20:] for row in tables["articles"]],
        "entities": [row[:5] for row in tables["entities"]],
        "article_entities": tables["article_entities"],
        "article_listings": tables["article_listings"],
        "dead_letters": tables["dead_letters"],
    }


def test_stalled_database_times_out_as_transient(store_database_url: str) -> None:
    engine = make_writer_engine(Settings(database_url=store_database_url, db_statement_timeout_ms=300))
    handle = make_article_handler(engine)
    with psycopg.connect(store_database_url) as blocker:
        blocker.execute("LOCK TABLE articles IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        with pytest.raises(TransientError):
            handle(deliveries(seed_events()))
        assert time.monotonic() - started < 5
        blocker.rollback()
    handle(deliveries(seed_events()))
    assert _scalar(engine, "SELECT count(*) FROM articles") == 6
    engine.dispose()


def _letter(**fields: object) -> Delivery[DeadLetter]:
    letter = DeadLetter.model_validate({"stage": "ingest", "reason": "binary", "message": "not text", **fields})
    return Delivery(letter, TOPIC_DLQ, 0, 0, 0)


def test_dead_letters_are_recorded_once(writer: Engine) -> None:
    handle = make_dead_letter_handler(writer)
    first = _letter(source_file="a.bin", sha256="aa", payload="x\x00y")
    again = _letter(source_file="a.bin", sha256="aa", failed_at=first.event.failed_at + timedelta(seconds=5))
    other = _letter(source_file="b.pdf", sha256="bb", reason="too_large")
    enrich = _letter(stage="enrich", reason="processing_failed", article_id="x")
    handle([first, first, again, other, enrich])
    handle([first, other])  # redelivered
    assert _scalar(writer, "SELECT count(*) FROM dead_letters") == 4
    assert (
        _scalar(writer, "SELECT payload FROM dead_letters WHERE reason = 'binary' AND payload IS NOT NULL")
        == "x\ufffdy"
    )


def test_a_batch_larger_than_one_statement_can_carry(writer: Engine) -> None:
    # 64 articles x 200 entities = 12,800 links x 6 columns: more bind parameters than Postgres allows
    # in one statement, so the writer must split its inserts.
    seed = by_prefix(seed_events())["000"]
    many = [
        EntityRef(id=entity_id("ORG", f"Org {n}"), name=f"Org {n}", type="ORG", mentions=[f"Org {n}"], count=1)
        for n in range(200)
    ]
    events = [
        seed.model_copy(
            update={
                "article": seed.article.model_copy(update={"article_id": f"bulk-{i}", "source_file": f"bulk/{i}.txt"}),
                "entities": many,
            }
        )
        for i in range(64)
    ]
    make_article_handler(writer)(deliveries(events))
    assert _scalar(writer, "SELECT count(*) FROM article_entities") == 64 * 200
    assert _scalar(writer, "SELECT min(article_count) FROM entities") == 64


def test_only_a_first_insert_counts_as_inserted(writer: Engine) -> None:
    """End-to-end latency is timed once per article (issue 25): a newer version is no file arriving."""
    original = by_prefix(seed_events())["002"]
    newer = original.model_copy(update={"enriched_at": original.enriched_at + timedelta(minutes=5)})
    with writer.begin() as conn:
        first = upsert_articles(conn, [original])
    with writer.begin() as conn:
        second = upsert_articles(conn, [newer])
    assert first.inserted == {original.article.article_id}
    assert [event.article.article_id for event in second.stored] == [original.article.article_id]
    assert second.inserted == set(), "a newer version updates the row: stored, not inserted"
