"""``/stories`` and ``/stories/{id}`` over a real database filled through the store's own upsert.

Three stories: the five seeds and the reprint of seed 003 (one story, as enrich groups them), two
hand-made articles about a football final arriving a day later, and one untitled article from two
years earlier with no entities. Expected figures are derived from the events themselves.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from services.api.app import create_app
from services.api.dashboard.queries import TOP_STORIES_SINCE_HOURS
from services.store.db.session import make_writer_engine
from services.store.db.writes import upsert_articles
from shared.config import Settings
from shared.db import run_migrations
from shared.events import EnrichedArticle, EntityRef, EntityType, utcnow
from shared.identity import entity_id, sha256_hex, story_id
from tests.conftest import throwaway_database
from tests.store.seed_events import BASE_TIME, REPRINT_FILE, seed_events, text_article

SEEDS = seed_events()
SEED_STORY = story_id(SEEDS[0].article.article_id)
FINAL_STORY = story_id("football-final")
OLD_STORY = story_id("old-notice")
FINAL_DAY = date(2025, 3, 10)
OLD_DAY = date(2023, 5, 1)


def _article(
    name: str,
    body: str,
    *,
    ingested_offset: timedelta,
    published: date | None,
    title: str | None,
    source: str | None,
    entities: list[tuple[EntityType, str, int]],
    story: str,
) -> EnrichedArticle:
    data = body.encode("utf-8")
    ingested = BASE_TIME + ingested_offset
    raw = text_article(name, data, body=body, title=title, published=published, source=source, ingested=ingested)
    refs = [
        EntityRef(id=entity_id(kind, label), name=label, type=kind, mentions=[label], count=count)
        for kind, label, count in entities
    ]
    return EnrichedArticle(
        article=raw,
        entities=refs,
        content_hash=sha256_hex(data),
        story_id=story,
        enriched_at=ingested + timedelta(seconds=1),
    )


def _other_events() -> list[EnrichedArticle]:
    final: list[tuple[EntityType, str, int]] = [
        ("ORG", "Arsenal", 2),
        ("ORG", "Chelsea", 1),
        ("LOCATION", "Wembley", 1),
    ]
    return [
        _article(
            "final_report.txt",
            "Arsenal beat Chelsea at Wembley in the cup final on Sunday. Arsenal lifted the trophy.",
            ingested_offset=timedelta(days=1),
            published=FINAL_DAY,
            title="Arsenal win the cup final",
            source="Sports Desk",
            entities=final,
            story=FINAL_STORY,
        ),
        _article(
            "final_reaction.txt",
            "Chelsea fans left Wembley disappointed after the final; Arsenal celebrated late.",
            ingested_offset=timedelta(days=1, minutes=5),
            published=FINAL_DAY,
            title=None,
            source="City Paper",
            entities=final,
            story=FINAL_STORY,
        ),
        _article(
            "old_notice.txt",
            "The library will close early on the first of May for maintenance of its heating.",
            ingested_offset=-timedelta(days=1),
            published=OLD_DAY,
            title=None,
            source=None,
            entities=[],
            story=OLD_STORY,
        ),
    ]


def _all_events() -> list[EnrichedArticle]:
    seeds = [event.model_copy(update={"story_id": SEED_STORY}) for event in SEEDS]
    return seeds + _other_events()


@pytest.fixture(scope="module")
def stories_client(postgres_admin_url: str) -> Iterator[TestClient]:
    with throwaway_database(postgres_admin_url, prefix="newsflow_stories") as url:
        run_migrations(url, service="store")
        engine = make_writer_engine(Settings(database_url=url))
        with engine.begin() as conn:
            upsert_articles(conn, _all_events())
        engine.dispose()
        with TestClient(create_app(Settings(database_url=url))) as client:
            yield client


def _ids(client: TestClient, **params: Any) -> list[str]:
    response = client.get("/stories", params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def _seed_entity_ranking() -> list[str]:
    """Entity names of the seed originals, by mentions then articles then name (the API's order)."""
    mentions: Counter[str] = Counter()
    articles: Counter[str] = Counter()
    for event in SEEDS:
        if event.duplicate is None:
            for ref in event.entities:
                mentions[ref.name] += ref.count
                articles[ref.name] += 1
    return sorted(mentions, key=lambda n: (-mentions[n], -articles[n], n))


def test_recent_first_and_paging(stories_client: TestClient) -> None:
    # The old notice is a single report (one original): listed only when asked for.
    assert _ids(stories_client) == [FINAL_STORY, SEED_STORY]
    assert _ids(stories_client, min_originals=1) == [FINAL_STORY, SEED_STORY, OLD_STORY]
    paged: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1, "min_originals": 1, **({"cursor": cursor} if cursor else {})}
        page = stories_client.get("/stories", params=params).json()
        paged += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert paged == [FINAL_STORY, SEED_STORY, OLD_STORY]


def test_seed_story_figures(stories_client: TestClient) -> None:
    item = next(i for i in stories_client.get("/stories").json()["items"] if i["id"] == SEED_STORY)
    originals = [event for event in SEEDS if event.duplicate is None]
    assert item["article_count"] == len(SEEDS) and item["original_count"] == len(originals)
    # Sources named: IANS (seed 004) and the reprint's "Wire"; the other seeds name none.
    sources = {event.article.source.lower() for event in SEEDS if event.article.source}
    assert item["source_count"] == len(sources) == 2
    # Dates from the four dated seeds; seed 000 is undated and ingested months later.
    days = [event.article.published_at for event in SEEDS if event.article.published_at]
    assert item["first_date"] == min(days).isoformat() and item["last_date"] == max(days).isoformat()
    assert item["dates_from"] == "published" and item["kind"] == "multi_report"
    # The earliest dated original with a title is seed 003; the label is its headline.
    seed_003 = next(event for event in originals if event.article.source_file.startswith("003"))
    assert item["headline"] == item["label"] == seed_003.article.title
    ranking = _seed_entity_ranking()
    assert [e["name"] for e in item["top_entities"]] == ranking[: len(item["top_entities"])]
    imran = next(e for e in item["top_entities"] if e["name"] == "Imran Khan")
    assert imran["article_count"] == len(originals)


def test_story_detail(stories_client: TestClient) -> None:
    response = stories_client.get(f"/stories/{SEED_STORY}")
    assert response.status_code == 200, response.text
    detail = response.json()
    # Time order: by day (publication, else ingest date), then arrival.
    expected = sorted(
        SEEDS, key=lambda e: (e.article.published_at or e.article.ingested_at.date(), e.article.ingested_at)
    )
    assert [a["id"] for a in detail["articles"]] == [e.article.article_id for e in expected]
    reprint = next(a for a in detail["articles"] if a["source_file"] == REPRINT_FILE)
    assert reprint["duplicate_kind"] == "reprint" and reprint["duplicate_of"] is not None
    timeline = {t["name"]: t["per_day"] for t in detail["entity_timeline"]}
    assert list(timeline) == _seed_entity_ranking()[: len(timeline)]
    imran_days = sorted(
        (e.article.published_at or e.article.ingested_at.date()).isoformat() for e in SEEDS if e.duplicate is None
    )
    assert timeline["Imran Khan"] == [{"day": day, "article_count": 1} for day in imran_days]


def test_story_without_entities_or_title(stories_client: TestClient) -> None:
    detail = stories_client.get(f"/stories/{OLD_STORY}").json()
    assert detail["top_entities"] == [] and detail["entity_timeline"] == []
    # No headline of its own and no entities: the body's first sentence (a derived title) labels it.
    derived = "The library will close early on the first of May for maintenance of its heating"
    assert detail["headline"] == detail["label"] == derived
    assert detail["first_date"] == detail["last_date"] == OLD_DAY.isoformat()
    assert detail["dates_from"] == "published" and detail["kind"] == "single_report" and detail["source_count"] == 0


def test_unknown_story_is_404(stories_client: TestClient) -> None:
    response = stories_client.get("/stories/no-such-story")
    assert response.status_code == 404
    assert "GET /stories" in response.json()["detail"]


def test_entity_filter(stories_client: TestClient) -> None:
    assert _ids(stories_client, entity="imran khan") == [SEED_STORY]
    assert _ids(stories_client, entity=entity_id("ORG", "Arsenal")) == [FINAL_STORY]
    # Repeated entities are ANDed; an entity nobody mentions matches nothing.
    assert _ids(stories_client, entity=["Imran Khan", "Arsenal"]) == []
    assert _ids(stories_client, entity=["Imran Khan", "Islamabad"]) == [SEED_STORY]
    assert _ids(stories_client, entity="Nobody At All") == []


def test_text_filter(stories_client: TestClient) -> None:
    assert _ids(stories_client, q="Imran") == [SEED_STORY]
    assert _ids(stories_client, q="trophy") == [FINAL_STORY]
    assert _ids(stories_client, q="Imran OR heating", min_originals=1) == [SEED_STORY, OLD_STORY]


def test_since_until(stories_client: TestClient) -> None:
    assert _ids(stories_client, since=(FINAL_DAY - timedelta(days=1)).isoformat()) == [FINAL_STORY]
    assert _ids(stories_client, until=date(2024, 1, 1).isoformat(), min_originals=1) == [OLD_STORY]
    # A story matches when any of its articles falls in the range (seed 002 on 2024-11-07).
    assert _ids(stories_client, since="2024-11-05", until="2024-11-07") == [SEED_STORY]
    assert _ids(stories_client, since="2024-11-04", until="2024-11-06") == []


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"since": "2025-01-02", "until": "2025-01-01"}, "until"),
        ({"since": "yesterday"}, "since"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"min_originals": 0}, "min_originals"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"q": "   "}, "q"),
    ],
)
def test_bad_parameters_are_422_naming_them(stories_client: TestClient, params: dict[str, Any], parameter: str) -> None:
    response = stories_client.get("/stories", params=params)
    assert response.status_code == 422
    body = response.json()
    assert body["detail"][0]["loc"][-1] == parameter
    assert f"Invalid {parameter}" in body["message"]


def test_cursor_of_another_listing_is_422(stories_client: TestClient) -> None:
    cursor = stories_client.get("/articles", params={"limit": 1}).json()["next_cursor"]
    response = stories_client.get("/stories", params={"cursor": cursor})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "cursor"


def test_articles_of_a_story(stories_client: TestClient) -> None:
    listed = stories_client.get("/articles", params={"story": SEED_STORY, "include_duplicates": True}).json()
    assert {a["id"] for a in listed["items"]} == {e.article.article_id for e in SEEDS}
    assert all(a["story_id"] == SEED_STORY for a in listed["items"])


def _arrived(event: EnrichedArticle, when: datetime) -> EnrichedArticle:
    article = event.article.model_copy(update={"received_at": when, "ingested_at": when})
    return event.model_copy(update={"article": article, "enriched_at": when})


def test_dashboard_lists_the_biggest_stories_of_the_last_day(writer: Engine, tmp_path: Path) -> None:
    now = utcnow()
    seeds, final, old = _all_events()[: len(SEEDS)], _other_events()[:2], _other_events()[2]
    # The seed story: four articles today, two three days ago; the final: both today; the notice: old.
    recent = [_arrived(e, now - timedelta(minutes=i)) for i, e in enumerate(seeds[:4] + final)]
    stale = [_arrived(e, now - timedelta(days=3)) for e in [*seeds[4:], old]]
    with writer.begin() as conn:
        upsert_articles(conn, recent + stale)
    url = writer.url.render_as_string(hide_password=False)
    with TestClient(create_app(Settings(database_url=url, data_dir=tmp_path))) as client:
        data = client.get("/dashboard/data").json()
    assert data["database_error"] is None
    top = data["top_stories"]
    assert [(s["id"], s["articles"], s["article_count"]) for s in top] == [
        (SEED_STORY, 4, len(SEEDS)),
        (FINAL_STORY, 2, 2),
    ]
    assert top[0]["label"] == next(e.article.title for e in SEEDS if e.article.source_file.startswith("003"))
    assert data["top_stories_hours"] == TOP_STORIES_SINCE_HOURS
