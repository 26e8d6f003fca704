"""``/entities`` and ``/entities/{key}`` against the seeded database."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from shared.identity import entity_id


def _items(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/entities", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_people_by_article_count(client: TestClient) -> None:
    people = _items(client, type="PERSON", limit=100)
    assert all(p["type"] == "PERSON" for p in people)
    assert people[0] == {
        "id": entity_id("PERSON", "Imran Khan"),
        "name": "Imran Khan",
        "type": "PERSON",
        "article_count": 5,
    }
    counts = [p["article_count"] for p in people]
    assert counts == sorted(counts, reverse=True)
    assert next(p for p in people if p["name"] == "Zulfi Bukhari")["article_count"] == 2


def test_word_prefix_search_any_case(client: TestClient) -> None:
    assert [e["name"] for e in _items(client, q="zul")] == ["Zulfi Bukhari"]
    # Any word of the name or of a surface form: PTI was found as "Pakistan Tehreek-e-Insaf".
    assert {e["name"] for e in _items(client, q="I")} == {"Imran Khan", "Islamabad", "IANS", "PTI"}
    assert {e["name"] for e in _items(client, q="KHAN")} == {"Imran Khan"}
    # Punctuation is no query syntax and no wildcard.
    assert _items(client, q="%") == [] and _items(client, q="_mran") == [] and _items(client, q="imran:*|x") == []


def test_name_sort_and_paging(client: TestClient) -> None:
    everything = [e["name"] for e in _items(client, sort="name", limit=100)]
    assert everything == sorted(everything)
    paged: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"sort": "name", "limit": 5, **({"cursor": cursor} if cursor else {})}
        page = client.get("/entities", params=params).json()
        paged += [e["name"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert paged == everything


def test_article_count_paging_covers_all(client: TestClient) -> None:
    everything = [e["id"] for e in _items(client, limit=100)]
    first = client.get("/entities", params={"limit": 4}).json()
    rest = client.get("/entities", params={"limit": 100, "cursor": first["next_cursor"]}).json()
    assert [e["id"] for e in first["items"] + rest["items"]] == everything


def test_entity_profile(client: TestClient) -> None:
    response = client.get(f"/entities/{entity_id('PERSON', 'Zulfi Bukhari')}")
    assert response.status_code == 200
    profile = response.json()
    assert profile["name"] == "Zulfi Bukhari" and profile["article_count"] == 2
    assert profile["aliases"] == ["Bukhari", "Zulfi Bukhari"]
    co = {c["name"]: c["shared_articles"] for c in profile["co_occurring"]}
    assert co["Imran Khan"] == 2 and co["PTI"] == 2 and co["Nawaz Sharif"] == 1
    # Seed 002 is dated 2024-11-07; seed 000 is undated and counts on its ingest day, which says so.
    assert profile["per_day"] == [
        {"day": "2024-11-07", "article_count": 1, "undated_count": 0},
        {"day": "2025-03-01", "article_count": 1, "undated_count": 1},
    ]


def test_entity_profile_by_name(client: TestClient) -> None:
    profile = client.get("/entities/imran khan").json()
    assert profile["id"] == entity_id("PERSON", "Imran Khan")
    assert len(profile["per_day"]) == 5 and sum(d["article_count"] for d in profile["per_day"]) == 5


def test_unknown_entity_is_404(client: TestClient) -> None:
    response = client.get("/entities/nobody")
    assert response.status_code == 404 and "nobody" in response.json()["detail"]


def test_bad_entity_parameters_are_422(client: TestClient) -> None:
    for params, parameter in [({"limit": 101}, "limit"), ({"type": "people"}, "type"), ({"sort": "count"}, "sort")]:
        response = client.get("/entities", params=params)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"][-1] == parameter
