"""Text that is not valid Unicode never reaches Postgres as a 500 (issue 19): a forged cursor whose id,
relevance floor id or entity name key holds a lone surrogate (or a NUL) is a 422 naming ``cursor``."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient


def _forged(payload: dict[str, Any]) -> str:
    # ensure_ascii keeps the lone surrogate as the six characters "\ud800", as an attacker sends it.
    raw = json.dumps(payload, ensure_ascii=True).encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


_LATER = "2099-01-01T00:00:00+00:00"
FORGED = {
    "articles id": ("/articles", {}, {"v": 1, "r": "articles", "s": "-ingested_at", "k": _LATER, "id": "\ud800"}),
    "relevance floor id": (
        "/articles",
        {"q": "Khan", "sort": "relevance"},
        {"v": 1, "r": "articles", "s": "relevance", "k": [0.5, _LATER, "\ud800"], "id": "x"},
    ),
    "entities name key": (
        "/entities",
        {"sort": "name"},
        {"v": 1, "r": "entities", "s": "name", "k": "Imran \udc00", "id": "x"},
    ),
    "stories id": ("/stories", {}, {"v": 1, "r": "stories", "s": "-last_ingested_at", "k": _LATER, "id": "\udfff"}),
    "articles NUL": ("/articles", {}, {"v": 1, "r": "articles", "s": "-ingested_at", "k": _LATER, "id": "a\u0000b"}),
}


@pytest.mark.parametrize("case", sorted(FORGED))
def test_a_forged_cursor_with_text_that_is_not_unicode_is_a_422(client: TestClient, case: str) -> None:
    path, params, payload = FORGED[case]
    response = client.get(path, params={**params, "cursor": _forged(payload)})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["detail"][0]["loc"] == ["query", "cursor"]
    assert "not valid Unicode" in body["message"]
