"""A story's fields as readers see them (issue 21), over a real database filled through the store's upsert.

Each test writes its own small story the way the store receives it (enriched events, reprints
linked to their original, late arrivals as later batches) and reads it back through
``GET /stories`` and ``GET /stories/{id}``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from services.api.app import create_app
from services.store.db.writes import upsert_articles
from shared.config import Settings
from shared.events import DuplicateLink, EnrichedArticle
from shared.identity import sha256_hex, story_id
from tests.store.seed_events import BASE_TIME, text_article

STORY = story_id("fields-story")


def _event(
    name: str,
    *,
    hours: float,
    title: str | None = None,
    published: date | None = None,
    source: str | None = None,
    copy_of: EnrichedArticle | None = None,
    story: str = STORY,
    version: int = 0,
) -> EnrichedArticle:
    body = f"Report {name}: the harbour bridge closed after a crane collapsed onto the deck"
    ingested = BASE_TIME + timedelta(hours=hours)
    raw = text_article(
        name, body.encode(), body=body, title=title, published=published, source=source, ingested=ingested
    )
    duplicate = (
        DuplicateLink(duplicate_of=copy_of.article.article_id, kind="reprint", similarity=0.9) if copy_of else None
    )
    return EnrichedArticle(
        article=raw,
        duplicate=duplicate,
        content_hash=sha256_hex(body.encode()),
        story_id=story,
        enriched_at=ingested + timedelta(seconds=1 + version),
    )


@pytest.fixture
def client(writer: Engine, tmp_path: Path) -> Iterator[TestClient]:
    url = writer.url.render_as_string(hide_password=False)
    with TestClient(create_app(Settings(database_url=url, data_dir=tmp_path))) as test_client:
        yield test_client


def _store(writer: Engine, *events: EnrichedArticle) -> None:
    with writer.begin() as conn:
        upsert_articles(conn, list(events))


def _story(client: TestClient, story: str = STORY) -> dict[str, Any]:
    response = client.get(f"/stories/{story}")
    assert response.status_code == 200, response.text
    detail: dict[str, Any] = response.json()
    listed = client.get("/stories", params={"min_originals": 1}).json()["items"]
    item = next(i for i in listed if i["id"] == story)
    # The list and the detail agree on every summary field.
    assert {k: detail[k] for k in item} == item
    return detail


def test_source_count_counts_distinct_named_sources_only(writer: Engine, client: TestClient) -> None:
    _store(
        writer,
        _event("a.txt", hours=0, source="Reuters"),
        _event("b.txt", hours=1, source="reuters "),
        _event("c.txt", hours=2, source="AP"),
        _event("d.txt", hours=3, source=None),
        _event("e.txt", hours=4, source="  "),
    )
    story = _story(client)
    assert story["source_count"] == 2  # Reuters (twice, as typed) and AP; unnamed ones add nothing
    assert story["article_count"] == story["original_count"] == 5


def test_dates_come_from_publication_dates_and_say_so(writer: Engine, client: TestClient) -> None:
    other = story_id("undated-story")
    _store(
        writer,
        _event("dated-1.txt", hours=0, published=date(2024, 5, 1)),
        _event("dated-2.txt", hours=1, published=date(2024, 5, 3)),
        # Undated, and ingested two years after: it must not make the story end in 2026.
        _event("undated.txt", hours=24 * 700, published=None),
        _event("none-dated-1.txt", hours=5, story=other),
        _event("none-dated-2.txt", hours=24 * 3, story=other),
    )
    story = _story(client)
    assert (story["first_date"], story["last_date"], story["dates_from"]) == ("2024-05-01", "2024-05-03", "published")
    # A story with no dated article falls back to ingest days, and says so.
    fallback = _story(client, other)
    first, last = (BASE_TIME + timedelta(hours=5)).date(), (BASE_TIME + timedelta(days=3)).date()
    assert (fallback["first_date"], fallback["last_date"]) == (first.isoformat(), last.isoformat())
    assert fallback["dates_from"] == "ingested"


def test_a_single_report_with_its_copies_is_not_a_multi_report_story(writer: Engine, client: TestClient) -> None:
    original = _event("wire.txt", hours=0, title="Bridge closed after crane collapse", source="Wire")
    copies = [_event(f"copy-{i}.txt", hours=i + 1, source=f"Paper {i}", copy_of=original) for i in range(3)]
    _store(writer, original, *copies)
    story = _story(client)
    assert (story["article_count"], story["original_count"], story["source_count"]) == (4, 1, 4)
    assert story["kind"] == "single_report"
    assert client.get("/stories").json()["items"] == []  # the default listing shows multi-report stories only
    data = client.get("/dashboard/data").json()
    assert data["top_stories"] == []

    # A second, independently written report makes it a story of two reports.
    _store(writer, _event("own-report.txt", hours=5, title="Crane collapse shuts bridge", source="City Paper"))
    assert [i["id"] for i in client.get("/stories").json()["items"]] == [STORY]
    assert _story(client)["kind"] == "multi_report"


def test_headline_and_dates_follow_a_late_arriving_earlier_original(writer: Engine, client: TestClient) -> None:
    first_seen = _event("follow-up.txt", hours=0, title="Bridge stays shut a day on", published=date(2024, 6, 2))
    _store(writer, first_seen)
    story = _story(client)
    assert (story["headline"], story["first_date"]) == ("Bridge stays shut a day on", "2024-06-02")

    # The first report, published a day earlier, arrives a week later: it becomes the headline.
    earlier = _event("first-report.txt", hours=24 * 7, title="Crane collapses onto bridge", published=date(2024, 6, 1))
    _store(writer, earlier)
    story = _story(client)
    assert (story["headline"], story["label"]) == ("Crane collapses onto bridge", "Crane collapses onto bridge")
    assert (story["first_date"], story["last_date"], story["dates_from"]) == ("2024-06-01", "2024-06-02", "published")

    # A late undated original neither takes the headline nor moves the dates.
    _store(writer, _event("undated-late.txt", hours=24 * 30, title="Bridge: what we know"))
    story = _story(client)
    assert (story["headline"], story["first_date"], story["last_date"]) == (
        "Crane collapses onto bridge",
        "2024-06-01",
        "2024-06-02",
    )
    assert [a["source_file"] for a in story["articles"]] == ["first-report.txt", "follow-up.txt", "undated-late.txt"]


def test_a_copy_that_arrived_before_its_original_gives_up_the_headline(writer: Engine, client: TestClient) -> None:
    original = _event("original.txt", hours=1, title="Crane collapses onto bridge", published=date(2024, 6, 1))
    copy = _event("copy.txt", hours=0, title="WIRE: crane collapse", published=date(2024, 6, 1))
    # Enrich saw the copy first and took it for an original; the original arrives later, and enrich's
    # correction re-sends the copy linked to it (a newer version of the same article).
    _store(writer, copy)
    assert _story(client)["headline"] == "WIRE: crane collapse"
    corrected = _event("copy.txt", hours=0, title="WIRE: crane collapse", published=date(2024, 6, 1), copy_of=original)
    corrected = corrected.model_copy(update={"enriched_at": datetime.now(tz=BASE_TIME.tzinfo)})
    _store(writer, original, corrected)
    story = _story(client)
    assert story["headline"] == "Crane collapses onto bridge"
    assert (story["original_count"], story["article_count"], story["kind"]) == (1, 2, "single_report")


def test_a_story_of_untitled_reports_takes_a_derived_headline_until_a_real_one_arrives(
    writer: Engine, client: TestClient
) -> None:
    _store(writer, _event("untitled-1.txt", hours=0), _event("untitled-2.txt", hours=1))
    story = _story(client)
    # No original has a headline of its own: the earliest one's derived title stands in.
    assert story["headline"] == "Report untitled-1.txt: the harbour bridge closed after a crane collapsed onto the deck"
    # A later report with a headline its source wrote takes precedence over derived ones.
    _store(writer, _event("titled.txt", hours=2, title="Crane collapses onto bridge"))
    assert _story(client)["headline"] == "Crane collapses onto bridge"
