"""``/articles`` and ``/articles/{id}`` against a real database filled with the seeds by the real handler."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from services.api.app import create_app
from services.api.schemas import ArticleItem, ArticlePage
from services.store.consumer import make_article_handler
from services.store.db.listing import ListingTuning
from services.store.db.listing.sql import ITEM_HEAD_FIELDS
from shared.config import Settings
from tests.store.seed_events import REPRINT_FILE, by_prefix, deliveries, seed_events

SEEDS = by_prefix(seed_events())
REPRINT = next(event for event in seed_events() if event.duplicate is not None)


def _ids(prefixes: str) -> set[str]:
    return {SEEDS[p].article.article_id for p in prefixes.split()}


def _list(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/articles", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _listed_ids(client: TestClient, **params: Any) -> set[str]:
    return {item["id"] for item in _list(client, **params)}


# --- the issue-5 acceptance queries --------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "nuclear testing"}, "000"),
        ({"q": "Tuberville"}, "001"),
        ({"entity": "Imran Khan"}, "000 001 002 003 004"),
        ({"entity": "Zulfi Bukhari"}, "000 002"),
        ({"since": "2024-11-05"}, "001 002 004"),
        ({"until": "2024-11-05"}, "003"),
    ],
)
def test_acceptance_queries(client: TestClient, params: dict[str, str], expected: str) -> None:
    assert _listed_ids(client, **params) == _ids(expected)


def test_issue_2_item_contract(client: TestClient) -> None:
    items = _list(client, include_duplicates="true")
    assert len(items) == 6
    item = next(i for i in items if i["id"] == SEEDS["001"].article.article_id)
    assert set(item) >= {
        "id", "title", "source_file", "published_at", "ingested_at", "duplicate_of", "story_id", "entities",
        "source", "snippet", "reprint_count",
    }  # fmt: skip
    assert item["title"] == "Asif rules out possibility of pressure from US for Imran Khan's release"
    assert item["published_at"] == "2025-02-04"
    assert item["source_file"] == SEEDS["001"].article.source_file
    assert item["duplicate_of"] is None
    asif = next(e for e in item["entities"] if e["name"] == "Khawaja Asif")
    assert asif["type"] == "PERSON" and asif["mentions"] == ["Khawaja Asif", "Asif"]
    assert [e["name"] for e in item["entities"]][:2] == ["Khawaja Asif", "Imran Khan"], "order of appearance"
    undated = next(i for i in items if i["id"] == SEEDS["000"].article.article_id)
    assert undated["published_at"] is None


def test_entity_by_id_and_case_insensitive_name(client: TestClient) -> None:
    bukhari_id = next(e.id for e in SEEDS["002"].entities if e.name == "Zulfi Bukhari")
    assert _listed_ids(client, entity=bukhari_id) == _ids("000 002")
    assert _listed_ids(client, entity="zulfi bukhari") == _ids("000 002")


def test_repeated_entity_means_and(client: TestClient) -> None:
    both = client.get("/articles", params=[("entity", "Imran Khan"), ("entity", "Zulfi Bukhari"), ("limit", "100")])
    assert {i["id"] for i in both.json()["items"]} == _ids("000 002")
    none = client.get("/articles", params=[("entity", "Tommy Tuberville"), ("entity", "Zulfi Bukhari")])
    assert none.json()["items"] == []


def test_unknown_entity_is_404_as_in_entities(client: TestClient) -> None:
    # Issue 22: an empty 200 read as "no articles mention them", not "no such entity".
    response = client.get("/articles", params={"entity": "Nobody In Particular"})
    assert response.status_code == 404 and "Nobody In Particular" in response.json()["detail"]


def test_type_filter_alone_and_with_a_name(client: TestClient) -> None:
    assert _listed_ids(client, type="ORG") == _ids("000 002 004")
    assert _listed_ids(client, entity="Pakistan", type="LOCATION") == _ids("000 003 004")
    # No PERSON is named Pakistan: 404, as for any name nothing answers to.
    response = client.get("/articles", params={"entity": "Pakistan", "type": "PERSON"})
    assert response.status_code == 404 and "PERSON" in response.json()["detail"]


def test_source_and_story_filters(client: TestClient) -> None:
    assert _listed_ids(client, source="ians") == _ids("004")
    assert _listed_ids(client, source="Wire", include_duplicates="true") == {REPRINT.article.article_id}
    assert _list(client, story="no-such-story") == []


def test_web_search_syntax(client: TestClient) -> None:
    assert _listed_ids(client, q='"nuclear testing"') == _ids("000")
    assert _listed_ids(client, q="Tuberville OR Bukhari") == _ids("000 001 002")
    assert _listed_ids(client, q="Bukhari -nuclear") == _ids("002")
    # Only stop words: an empty query matches nothing, and is not an error.
    assert _list(client, q="the and of") == []


def test_search_snippet_highlights_matches_safely(client: TestClient) -> None:
    [item] = _list(client, q="Tuberville")
    assert "<mark>Tuberville</mark>" in item["snippet"]
    plain = _list(client, entity="IANS")[0]["snippet"]
    assert plain.startswith("date 2024-11-08 Islamabad, November 7") and "<mark>" not in plain


def test_duplicates_fold_into_their_original(client: TestClient) -> None:
    original_id = SEEDS["003"].article.article_id
    folded = _list(client)
    assert len(folded) == 5 and REPRINT.article.article_id not in {i["id"] for i in folded}
    assert next(i for i in folded if i["id"] == original_id)["reprint_count"] == 1
    listed = _list(client, include_duplicates="true", until="2024-11-05")
    assert {i["id"] for i in listed} == {original_id, REPRINT.article.article_id}
    reprint = next(i for i in listed if i["id"] == REPRINT.article.article_id)
    assert reprint["duplicate_of"] == original_id and reprint["source_file"] == REPRINT_FILE


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("-ingested_at", lambda i: i["ingested_at"]),
        ("ingested_at", lambda i: i["ingested_at"]),
        ("-published_at", lambda i: i["published_at"] or ""),
        ("published_at", lambda i: i["published_at"] or "9999"),
        ("-source", lambda i: (i["source"] or "").lower()),
    ],
)
def test_sorts(client: TestClient, sort: str, key: Any) -> None:
    items = _list(client, sort=sort, include_duplicates="true")
    values = [key(i) for i in items]
    expected = sorted(values, reverse=sort.startswith("-"))
    if sort == "-published_at":
        expected = sorted([v for v in values if v], reverse=True) + [v for v in values if not v]
    assert values == expected
    if sort.endswith("published_at"):
        assert items[-1]["published_at"] is None, "undated articles sort last"


def test_relevance_ranks_title_matches_first(client: TestClient) -> None:
    items = _list(client, q="Imran Khan release", sort="relevance")
    assert len(items) == 5
    assert items[0]["id"] in _ids("001 003"), "seeds whose title names Imran Khan's release rank first"


@pytest.mark.parametrize("sort", ["-ingested_at", "ingested_at", "-published_at", "published_at", "-source"])
def test_cursor_pages_cover_everything_once(client: TestClient, sort: str) -> None:
    everything = [i["id"] for i in _list(client, sort=sort, include_duplicates="true")]
    paged: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"sort": sort, "limit": 2, "include_duplicates": "true"}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/articles", params=params).json()
        paged += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == everything


def test_relevance_cursor_pages(client: TestClient) -> None:
    everything = [i["id"] for i in _list(client, q="Trump", sort="relevance")]
    first = client.get("/articles", params={"q": "Trump", "sort": "relevance", "limit": 3}).json()
    second = client.get(
        "/articles", params={"q": "Trump", "sort": "relevance", "limit": 3, "cursor": first["next_cursor"]}
    ).json()
    assert [i["id"] for i in first["items"] + second["items"]] == everything
    assert second["next_cursor"] is None


def test_article_detail(client: TestClient) -> None:
    original = SEEDS["003"].article
    response = client.get(f"/articles/{original.article_id}")
    assert response.status_code == 200
    detail = response.json()
    assert detail["body"] == original.body
    assert detail["reprints"][0]["id"] == REPRINT.article.article_id and detail["reprints"][0]["kind"] == "reprint"
    assert detail["reprint_count"] == 1 and detail["original"] is None and detail["story"] is None
    imran = next(e for e in detail["entities"] if e["name"] == "Imran Khan")
    assert imran["mentions"] == ["Imran Khan", "Khan"] and imran["count"] == 51

    reprint = client.get(f"/articles/{REPRINT.article.article_id}").json()
    assert reprint["original"]["id"] == original.article_id
    evidence = {
        "method": "shared_passages",
        "matched_article": original.article_id,
        "passage_overlap": 0.94,
        "letter_overlap": None,
        "weakest_stretch": None,
        "confidence": None,
    }
    assert reprint["duplicate"] == {
        "of": original.article_id,
        "kind": "reprint",
        "similarity": 0.94,
        "evidence": evidence,
    }
    assert detail["reprints"][0]["evidence"] == evidence


# --- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "parameter", "hint"),
    [
        ({"limit": 100000}, "limit", "from 1 to 100"),
        ({"limit": 0}, "limit", "from 1 to 100"),
        ({"since": "yesterday-ish"}, "since", "YYYY-MM-DD"),
        ({"until": "2024-13-01"}, "until", "YYYY-MM-DD"),
        ({"sort": "popularity"}, "sort", "-ingested_at"),
        ({"sort": "relevance"}, "sort", "needs q"),
        ({"type": "ANIMAL"}, "type", "PERSON"),
        ({"include_duplicates": "maybe"}, "include_duplicates", "true or false"),
        ({"cursor": "not-a-cursor"}, "cursor", "next_cursor"),
        ({"q": "a\x00b"}, "q", "control characters"),
        ({"q": "x" * 501}, "q", "1-500 characters"),
        ({"since": "2024-11-09", "until": "2024-11-01"}, "until", "before since"),
    ],
)
def test_bad_parameters_get_422_naming_them(
    client: TestClient, params: dict[str, Any], parameter: str, hint: str
) -> None:
    response = client.get("/articles", params=params)
    assert response.status_code == 422
    body = response.json()
    assert body["detail"][0]["loc"][-1] == parameter
    assert f"Invalid {parameter}" in body["message"] and hint in body["message"]


def test_too_many_entities_is_422(client: TestClient) -> None:
    response = client.get("/articles", params=[("entity", f"e{i}") for i in range(11)])
    assert response.status_code == 422 and "entity" in response.json()["message"]


def test_cursor_for_another_sort_is_422(client: TestClient) -> None:
    cursor = client.get("/articles", params={"limit": 1}).json()["next_cursor"]
    response = client.get("/articles", params={"sort": "published_at", "cursor": cursor})
    assert response.status_code == 422 and "sort=-ingested_at" in response.json()["message"]


def test_unknown_article_is_404(client: TestClient) -> None:
    response = client.get("/articles/no-such-article")
    assert response.status_code == 404
    assert "no-such-article" in response.json()["detail"]


def test_relevance_ranks_the_newest_matches_only(seeded_database_url: str) -> None:
    """sort=relevance ranks a window of the newest relevance_window matches; its pages cover it once."""
    tuning = ListingTuning(relevance_window=3)
    with TestClient(create_app(Settings(database_url=seeded_database_url), listing_tuning=tuning)) as client:
        newest_three = [i["id"] for i in _list(client, q="Imran Khan")][:3]  # default sort: newest first
        ranked = _list(client, q="Imran Khan", sort="relevance")
        assert sorted(i["id"] for i in ranked) == sorted(newest_three)
        paged: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"q": "Imran Khan", "sort": "relevance", "limit": 2}
            page = client.get("/articles", params={**params, **({"cursor": cursor} if cursor else {})}).json()
            paged += [i["id"] for i in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert paged == [i["id"] for i in ranked]


def test_the_sqls_item_fields_are_the_response_models() -> None:
    """Postgres renders ArticleItem's first fields, the route adds the rest: together, the model's, in order."""
    spliced = ["snippet", "reprint_count", "entities"]
    assert [*ITEM_HEAD_FIELDS, *spliced] == list(ArticleItem.model_fields)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"include_duplicates": "true", "sort": "published_at"},
        {"q": "Imran Khan", "sort": "relevance", "limit": "2"},
        {"q": "Pakistan", "sort": "-published_at"},
        {"entity": "Imran Khan", "sort": "ingested_at"},
        {"dated": "false"},
    ],
)
def test_every_page_postgres_renders_is_the_response_models_json(client: TestClient, params: dict[str, str]) -> None:
    """The page text (spliced from Postgres's JSON) reads as an ArticlePage and prints back byte for byte."""
    response = client.get("/articles", params=params)
    assert response.status_code == 200, response.text
    page = ArticlePage.model_validate_json(response.text)
    assert page.model_dump_json() == response.text


def test_format_lists_the_articles_read_as_each_format_given(writer: Engine, store_database_url: str) -> None:
    """`format` keeps the articles whose file was read as one of the formats given; a bad one is a 422 naming it."""
    seeds = seed_events()
    page = seeds[0].model_copy(update={"article": seeds[0].article.model_copy(update={"content_type": "html"})})
    make_article_handler(writer)(deliveries([page, *seeds[1:]]))
    with TestClient(create_app(Settings(database_url=store_database_url))) as client:
        every = {i["id"] for i in _list(client, include_duplicates="true")}
        html = {i["id"] for i in _list(client, format="html", include_duplicates="true")}
        text = {i["id"] for i in _list(client, format="text", include_duplicates="true")}
        assert html == {page.article.article_id}
        assert text == every - html
        both = {i["id"] for i in _list(client, format=["html", "text"], include_duplicates="true")}
        assert both == every
        assert {i["id"] for i in _list(client, format="html", q="Imran Khan")} <= html
        bad = client.get("/articles", params={"format": "pdf"})
        assert bad.status_code == 422 and "format" in bad.json()["message"]
