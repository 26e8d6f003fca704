"""``/docs`` and ``/redoc`` name no address outside the API: their scripts and styles are the app's own (issue 25).

The pages themselves are drawn by a real browser in ``tests/metrics/test_browser_dashboard.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from shared.config import Settings

# Any absolute URL in a page: a CDN, a font service, an online validator.
ABSOLUTE_URL = re.compile(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}""", re.IGNORECASE)


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return TestClient(create_app(Settings(database_url="postgresql://unused@127.0.0.1:1/x", data_dir=tmp_path)))


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_only_the_apps_own_files(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert not ABSOLUTE_URL.findall(response.text), ABSOLUTE_URL.findall(response.text)
    assets = re.findall(r"""(?:src|href)=["'](/docs/assets/[^"']+)["']""", response.text)
    assert assets, "the page loads its script from the app"
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200 and len(served.content) > 1000, asset
    assert "/openapi.json" in response.text


def test_swagger_ui_is_told_not_to_call_the_online_validator(client: TestClient) -> None:
    assert '"validatorUrl": null' in client.get("/docs").text


def test_only_the_shipped_assets_are_served(client: TestClient) -> None:
    for name in ("core.py", "..%2F__init__.py", "swagger-ui.js"):
        assert client.get(f"/docs/assets/{name}").status_code == 404, name
    assert "/docs" not in client.get("/openapi.json").json()["paths"], "a page, not part of the API"


def test_redocs_script_draws_no_logo_from_its_makers_cdn(client: TestClient) -> None:
    script = client.get("/docs/assets/redoc.standalone.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert b"cdn.redoc.ly" not in script.content
