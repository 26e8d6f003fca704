"""``/dashboard`` over HTTP against a real Postgres: the page, its assets, and the data behind it.

Articles are stored by the store's real handler. The metrics side here is the store's own
process only (no other service runs); the whole pipeline is in the browser test.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from services.api.app import create_app
from services.store.consumer import make_article_handler
from services.store.db.session import make_writer_engine
from shared.config import Settings
from shared.consumer import Delivery
from shared.events import TOPIC_ENRICHED, EnrichedArticle, utcnow
from shared.identity import entity_id
from tests.store.seed_events import REPRINT_FILE, seed_events

OLD_ARTICLE_AGE = timedelta(days=3)


def _recent(events: list[EnrichedArticle]) -> list[EnrichedArticle]:
    """The seed events as if they had arrived in the last minutes, except the reprint (days ago)."""
    now = utcnow()
    moved = []
    for index, event in enumerate(events):
        arrived = now - (OLD_ARTICLE_AGE if event.article.source_file == REPRINT_FILE else timedelta(minutes=index))
        article = event.article.model_copy(update={"received_at": arrived, "ingested_at": arrived})
        moved.append(event.model_copy(update={"article": article, "enriched_at": arrived}))
    return moved


@pytest.fixture
def client(migrated_database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(database_url=migrated_database_url, data_dir=tmp_path)
    writer = make_writer_engine(settings)
    events = _recent(seed_events())
    make_article_handler(writer)([Delivery(e, TOPIC_ENRICHED, 0, i, 0) for i, e in enumerate(events)])
    writer.dispose()
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_the_data_has_the_archive_the_latest_articles_and_the_top_entities(client: TestClient) -> None:
    response = client.get("/dashboard/data")
    assert response.status_code == 200
    data = response.json()
    assert data["database_error"] is None
    assert data["archive"]["articles"] == 6 and data["archive"]["originals"] == 5 and data["archive"]["reprints"] == 1
    latest = data["latest_articles"]
    assert [a["source_file"][:3] for a in latest[:5]] == ["000", "001", "002", "003", "004"], "newest first"
    assert latest[-1]["source_file"] == REPRINT_FILE and latest[-1]["duplicate_kind"] == "reprint"
    assert all(a["entity_count"] > 0 for a in latest)
    top = data["top_entities"]
    assert top[0]["articles"] >= top[-1]["articles"]
    imran = next(e for e in top if e["name"] == "Imran Khan")
    assert imran["articles"] == 5, "originals of the last day only (the reprint is days old anyway)"
    assert data["services"] == [{"service": "api", "address": "127.0.0.1:8000", "up": True, "error": None}], (
        "no targets file and no NEWSFLOW_METRICS_TARGETS: this process alone"
    )
    assert data["refresh_seconds"] > 0 and len(data["charts"]["times_ms"]) >= 1


def test_the_page_and_its_assets_are_served_and_nothing_else(client: TestClient) -> None:
    page = client.get("/dashboard")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for script in ("chart.umd.min.js", "dashboard.js", "timeline.js"):
        assert f"/dashboard/assets/{script}" in page.text, script
        assert client.get(f"/dashboard/assets/{script}").headers["content-type"].startswith("text/javascript")
    chart = client.get("/dashboard/assets/chart.umd.min.js")
    assert chart.status_code == 200 and chart.text.startswith("/*!\n * Chart.js v4")
    assert client.get("/dashboard/assets/dashboard.css").headers["content-type"].startswith("text/css")
    for name in ("dashboard.html", "..%2F..%2Fapp.py", "chart.js-LICENSE.txt"):
        missing = client.get(f"/dashboard/assets/{name}")
        assert missing.status_code == 404, name
    assert "dashboard" not in str(client.get("/openapi.json").json()["paths"]), "a page, not part of the API"


def test_the_metrics_stay_live_when_the_database_is_down(tmp_path: Path) -> None:
    unreachable = create_engine(
        "postgresql+psycopg://postgres@127.0.0.1:1/nowhere", connect_args={"connect_timeout": 2}
    )
    app = create_app(Settings(database_url="postgresql://unused@127.0.0.1:1/x", data_dir=tmp_path), engine=unreachable)
    with TestClient(app) as client:
        response = client.get("/dashboard/data")
    assert response.status_code == 200
    data = response.json()
    assert data["archive"] is None and data["latest_articles"] == []
    assert data["database_error"], "the page says why the archive figures are missing"
    assert data["services"][0]["up"]
    unreachable.dispose()


def test_top_entities_count_an_archive_entity_with_the_names_folded_into_it(
    migrated_database_url: str, tmp_path: Path
) -> None:
    # Seed 002 writes only "Trump": its own entity row, which the archive folds into Donald Trump.
    events = _recent(seed_events())
    for index, event in enumerate(events):
        if event.article.source_file.startswith("002"):
            entities = [
                e.model_copy(update={"id": entity_id("PERSON", "Trump"), "name": "Trump"})
                if e.name == "Donald Trump"
                else e
                for e in event.entities
            ]
            events[index] = event.model_copy(update={"entities": entities})
    settings = Settings(database_url=migrated_database_url, data_dir=tmp_path)
    writer = make_writer_engine(settings)
    make_article_handler(writer)([Delivery(e, TOPIC_ENRICHED, 0, i, 0) for i, e in enumerate(events)])
    writer.dispose()
    with TestClient(create_app(settings)) as client:
        top = {e["name"]: e["articles"] for e in client.get("/dashboard/data").json()["top_entities"]}
        listed = client.get("/entities", params={"q": "Trump"}).json()["items"]
    assert "Trump" not in top
    assert top["Donald Trump"] == 4, "000, 002, 003 and 004 (001 does not name him; the reprint is days old)"
    assert [(e["name"], e["article_count"]) for e in listed] == [("Donald Trump", 4)], "as /entities counts him"
