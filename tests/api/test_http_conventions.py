"""What every client may take for granted: HEAD wherever GET is, and one JSON formatting in every response."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient


def _paths(client: TestClient) -> list[str]:
    """A real URL for every GET route of the OpenAPI document (ids taken from the seeded archive), and
    the routes it leaves out (the metrics and the dashboard page)."""
    article = client.get("/articles", params={"limit": 1}).json()["items"][0]
    entity = article["entities"][0]["id"]
    values = {
        "article_id": article["id"],
        "entity_key": entity,
        "story_id": article["story_id"] or "none",
        "watch_id": 1,
    }
    paths = ["/metrics", "/dashboard"]
    for template, operations in client.get("/openapi.json").json()["paths"].items():
        if "get" in operations:
            paths.append(template.format(**values))
    return paths


def test_every_get_route_answers_head_with_its_headers_and_no_body(client: TestClient) -> None:
    paths = _paths(client)
    assert {"/articles", "/entities", "/health", "/stats", "/metrics"} <= set(paths)
    for path in paths:
        get = client.get(path)
        head = client.head(path)
        assert head.status_code == get.status_code, path
        assert head.content == b"", path
        assert head.headers["content-type"] == get.headers["content-type"], path
        if path != "/metrics":  # its counters move between the two requests
            # (a stream, /stream, has no length)
            assert head.headers.get("content-length") == get.headers.get("content-length"), path
    assert client.head("/articles/no-such-article").status_code == 404


def _compact(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize(
    "path",
    [
        "/articles?include_duplicates=true&limit=100",
        "/articles?q=Imran%20Khan&sort=relevance",
        "/articles?entity=Imran%20Khan",
        "/entities?limit=5",
        "/entities/Imran%20Khan",
        "/stories",
        "/stats",
        "/articles?limit=0",  # a validation error
        "/articles/no-such-article",  # a 404
    ],
)
def test_every_response_is_compact_json(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.headers["content-type"] == "application/json"
    assert response.text == _compact(response.json()), "no spaces after ':' or ',' (json_build_object spaced them)"


def test_the_full_article_is_compact_json_too(client: TestClient) -> None:
    article_id = client.get("/articles", params={"limit": 1}).json()["items"][0]["id"]
    response = client.get(f"/articles/{article_id}")
    assert response.text == _compact(response.json())
