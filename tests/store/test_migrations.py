"""The store's Alembic history: upgrade, downgrade and upgrade again; the models describe the result."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text

from services.store.consumer import make_article_handler
from services.store.db.models import Base
from shared.db import run_migrations, sqlalchemy_url
from tests.store.seed_events import deliveries, seed_events


def test_upgrade_downgrade_upgrade(database_url: str) -> None:
    engine = create_engine(sqlalchemy_url(database_url))
    run_migrations(database_url, service="store")
    assert {"articles", "entities", "article_entities", "dead_letters"} <= set(inspect(engine).get_table_names())
    run_migrations(database_url, service="store", revision="base", downgrade=True)
    assert set(inspect(engine).get_table_names()) == {"alembic_version_store"}
    run_migrations(database_url, service="store")
    engine.dispose()


# Alembic cannot compare the operator class of the lower(name) index and says so; the rest it compares.
@pytest.mark.filterwarnings("ignore:Expression #1 .* operator clause:UserWarning")
def test_models_match_the_migrated_schema(store_database_url: str) -> None:
    engine = create_engine(sqlalchemy_url(store_database_url))
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": "alembic_version_store"})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []


def _link_time_schema(engine: Engine) -> tuple[dict[str, bool], set[str]]:
    """article_entities.ingested_at (name: nullable) if present, and the names of the table's indexes."""
    inspector = inspect(engine)
    links = inspector.get_columns("article_entities")
    columns = {c["name"]: c["nullable"] for c in links if c["name"] == "ingested_at"}
    return columns, {str(index["name"]) for index in inspector.get_indexes("article_entities")}


def test_links_by_time_downgrade_and_upgrade_with_articles_stored(writer: Engine, store_database_url: str) -> None:
    """0004 down to 0003 and up again over a filled archive: the column and its index go and come back,
    and the upgrade fills every link with its article's ingested_at."""
    make_article_handler(writer)(deliveries(seed_events()))
    writer.dispose()  # the downgrade drops a column these pooled connections have read
    engine = create_engine(sqlalchemy_url(store_database_url))
    try:
        columns, indexes = _link_time_schema(engine)
        assert columns == {"ingested_at": False}
        assert "ix_article_entities_entity_ingested_at" in indexes and "ix_article_entities_entity" not in indexes

        run_migrations(store_database_url, service="store", revision="0003_search_statistics", downgrade=True)
        engine.dispose()
        columns, indexes = _link_time_schema(engine)
        assert columns == {}
        assert "ix_article_entities_entity" in indexes and "ix_article_entities_entity_ingested_at" not in indexes

        run_migrations(store_database_url, service="store")
        engine.dispose()
        columns, indexes = _link_time_schema(engine)
        assert columns == {"ingested_at": False}
        assert "ix_article_entities_entity_ingested_at" in indexes and "ix_article_entities_entity" not in indexes
        with engine.connect() as conn:
            links, filled = conn.execute(
                text(
                    "SELECT count(*), count(*) FILTER (WHERE ae.ingested_at = a.ingested_at) "
                    "FROM article_entities ae JOIN articles a ON a.article_id = ae.article_id"
                )
            ).one()
        assert links == sum(len(event.entities) for event in seed_events())
        assert filled == links, "every link filled with its article's ingested_at"
    finally:
        engine.dispose()


def _entity_ids_by_article(engine: Engine) -> dict[str, tuple[list[str], list[str]]]:
    """Each article's entity_ids beside its links' entity ids in order of appearance."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT a.article_id, a.entity_ids, coalesce((SELECT array_agg(ae.entity_id ORDER BY ae.ordinal) "
                "FROM article_entities ae WHERE ae.article_id = a.article_id), '{}') FROM articles a"
            )
        ).all()
    return {row[0]: (list(row[1]), list(row[2])) for row in rows}


def test_entity_ids_downgrade_and_upgrade_with_articles_stored(writer: Engine, store_database_url: str) -> None:
    """0005 down to 0004 and up again over a filled archive: the column and its GIN index go and come
    back, and the upgrade fills every article's ids from its links, in their order."""
    make_article_handler(writer)(deliveries(seed_events()))
    writer.dispose()  # the downgrade drops a column these pooled connections have read
    engine = create_engine(sqlalchemy_url(store_database_url))
    try:
        written = _entity_ids_by_article(engine)
        assert all(ids == linked for ids, linked in written.values())

        run_migrations(store_database_url, service="store", revision="0004_entity_links_by_time", downgrade=True)
        engine.dispose()
        inspector = inspect(engine)
        assert "entity_ids" not in {c["name"] for c in inspector.get_columns("articles")}
        assert "ix_articles_entity_ids" not in {index["name"] for index in inspector.get_indexes("articles")}

        run_migrations(store_database_url, service="store")
        engine.dispose()
        assert "ix_articles_entity_ids" in {index["name"] for index in inspect(engine).get_indexes("articles")}
        backfilled = _entity_ids_by_article(engine)
        assert backfilled == written
        assert sum(len(ids) for ids, _ in backfilled.values()) == sum(len(e.entities) for e in seed_events())
    finally:
        engine.dispose()
