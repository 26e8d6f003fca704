"""``/watches`` (issue 26): saved searches created, listed, changed and deleted; bad input is a 422 naming
the field; a webhook host outside the allow-list is refused; API keys guard the routes like the rest."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from shared.config import Settings


@pytest.fixture
def api(store_database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=store_database_url))) as client:
        yield client


def test_a_watch_is_created_listed_changed_and_deleted(api: TestClient) -> None:
    created = api.post("/watches", json={"name": "Khan", "entity": ["Imran Khan"], "type": "person"})
    assert created.status_code == 201, created.text
    watch = created.json()
    assert watch["name"] == "Khan" and watch["entity"] == ["Imran Khan"] and watch["type"] == "PERSON"
    assert watch["matches"] == 0 and watch["deliveries"] is None and len(watch["secret"]) >= 40
    assert api.get("/watches").json() == {"items": [watch]}
    assert api.get(f"/watches/{watch['id']}").json() == watch

    changed = api.put(
        f"/watches/{watch['id']}",
        json={"name": "Khan in Dawn", "q": "release", "source": ["Dawn"], "webhook_url": "http://127.0.0.1:9/hook"},
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["name"], body["q"], body["source"], body["entity"]) == ("Khan in Dawn", "release", ["Dawn"], [])
    assert body["secret"] == watch["secret"], "changing a watch keeps its signing key"
    assert body["deliveries"] == {"pending": 0, "delivered": 0, "failed": 0, "last_error": None, "last_error_at": None}

    assert api.delete(f"/watches/{watch['id']}").status_code == 204
    assert api.get(f"/watches/{watch['id']}").status_code == 404
    assert api.delete(f"/watches/{watch['id']}").status_code == 404
    assert api.get("/watches").json() == {"items": []}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": " "}, "name"),
        ({"name": "x", "type": "planet"}, "type"),
        ({"name": "x", "q": ""}, "q"),
        ({"name": "x", "entity": ["a"] * 11}, "entity"),
        ({"name": "x", "webhook_url": "ftp://127.0.0.1/x"}, "webhook_url"),
        ({"name": "x", "colour": "red"}, "colour"),
        ({"name": "x", "include_duplicates": "perhaps"}, "include_duplicates"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(api: TestClient, body: dict[str, object], field: str) -> None:
    response = api.post("/watches", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][:2] == ["body", field]
    assert f"Invalid {field}" in response.json()["message"]


def test_a_webhook_outside_the_allow_list_is_refused_with_a_clear_422(api: TestClient) -> None:
    for url in ("http://169.254.169.254/latest/meta-data", "http://db.internal:5432/", "https://example.com/hook"):
        response = api.post("/watches", json={"name": "x", "webhook_url": url})
        assert response.status_code == 422, url
        message = response.json()["message"]
        assert "not in the webhook allow-list" in message and "NEWSFLOW_WEBHOOK_ALLOWED_HOSTS" in message
    assert api.get("/watches").json() == {"items": []}
    for url in ("http://127.0.0.1:8080/hook", "http://localhost/x", "http://[::1]:9000/"):
        assert api.post("/watches", json={"name": "x", "webhook_url": url}).status_code == 201, url


def test_the_allow_list_is_configurable(store_database_url: str) -> None:
    settings = Settings(database_url=store_database_url, webhook_allowed_hosts="hooks.example.org")
    with TestClient(create_app(settings)) as api:
        assert api.post("/watches", json={"name": "x", "webhook_url": "https://hooks.example.org/a"}).status_code == 201
        refused = api.post("/watches", json={"name": "x", "webhook_url": "http://127.0.0.1/a"})
        assert refused.status_code == 422 and "'127.0.0.1'" in refused.json()["message"]


def test_watches_need_an_api_key_when_keys_are_set(store_database_url: str) -> None:
    with TestClient(create_app(Settings(database_url=store_database_url, api_keys="k"))) as api:
        assert api.post("/watches", json={"name": "x"}).status_code == 401
        assert api.get("/watches").status_code == 401
        assert api.post("/watches", json={"name": "x"}, headers={"X-API-Key": "k"}).status_code == 201
        assert api.get("/watches", params={"api_key": "k"}).json()["items"][0]["name"] == "x"
