"""The store's Alembic history: upgrade, downgrade and upgrade again; the models describe the result."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from services.store.db.models import Base
from shared.db import run_migrations, sqlalchemy_url


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
