"""Optional API keys (issue 19): with ``NEWSFLOW_API_KEYS`` set, every route but ``/health`` and ``/metrics``
answers 401 without a key; the header, the query parameter and the dashboard's cookie each let a request
in; and schemathesis over the keyed API, with and without a key, finds no 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from services.api.app import create_app
from services.api.auth import COOKIE, OPEN_PATHS
from shared.config import Settings
from tests.api.test_api_fuzz import CHECKS, OPERATIONS

KEY = "k3y-for-the-tests"
OTHER_KEY = "second-key"
EXAMPLES = 25


@pytest.fixture(scope="module")
def keyed(seeded_database_url: str) -> Iterator[TestClient]:
    # A short stream: GET /stream with a key must end for the test to read its status.
    app = create_app(Settings(database_url=seeded_database_url, api_keys=[KEY, OTHER_KEY], stream_max_seconds=0.2))
    with TestClient(app) as client:
        yield client


def _routes(routes: list[object]) -> Iterator[object]:
    for route in routes:
        included = getattr(route, "original_router", None)  # a router included in the app
        yield from _routes(included.routes) if included is not None else [route]


def _concrete_paths(client: TestClient) -> list[str]:
    """Every GET route of the app (the API, its docs, the dashboard and its assets), with sample ids."""
    samples = {"{article_id}": "x", "{entity_key}": "x", "{story_id}": "x", "{name}": "dashboard.js", "{watch_id}": "1"}
    paths = []
    for route in _routes(client.app.routes):  # type: ignore[attr-defined]
        if "GET" in (getattr(route, "methods", None) or ()):
            path = str(getattr(route, "path", ""))
            for placeholder, value in samples.items():
                path = path.replace(placeholder, value)
            paths.append(path)
    return sorted(set(paths))


def test_every_route_but_health_and_metrics_needs_a_key(keyed: TestClient) -> None:
    paths = _concrete_paths(keyed)
    assert {"/articles", "/docs", "/openapi.json", "/dashboard", "/dashboard/data", "/stats"} <= set(paths)
    for path in paths:
        response = keyed.get(path)
        if path in OPEN_PATHS:
            assert response.status_code != 401, path
        else:
            assert response.status_code == 401, path
            assert "X-API-Key" in response.json()["detail"]
            assert keyed.get(path, params={"api_key": "wrong"}).status_code == 401, path
            assert keyed.get(path, headers={"X-API-Key": KEY}).status_code != 401, path


def test_header_query_and_dashboard_cookie_each_let_a_request_in(keyed: TestClient) -> None:
    assert keyed.get("/articles", headers={"X-API-Key": OTHER_KEY}).status_code == 200
    assert keyed.get("/articles", params={"api_key": KEY}).status_code == 200
    keyed.cookies.clear()
    page = keyed.get("/dashboard", params={"api_key": KEY})
    assert page.status_code == 200 and COOKIE in page.headers["set-cookie"]
    assert KEY not in page.headers["set-cookie"], "the cookie holds a digest, not the key"
    assert keyed.get("/dashboard/data").status_code == 200, "the page's own requests pass with the cookie"
    assert keyed.get("/dashboard/assets/dashboard.js").status_code == 200
    keyed.cookies.clear()
    assert keyed.get("/dashboard/data").status_code == 401


def test_the_openapi_document_says_how_to_send_a_key(keyed: TestClient) -> None:
    spec = keyed.get("/openapi.json", headers={"X-API-Key": KEY}).json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["ApiKeyHeader"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert "401" in spec["paths"]["/articles"]["get"]["responses"]
    assert spec["paths"]["/health"]["get"]["security"] == []


CASES = [(label, with_key) for label in OPERATIONS for with_key in (True, False)]
CASE_IDS = [f"{label}-{'key' if with_key else 'no-key'}" for label, with_key in CASES]


@pytest.mark.parametrize(("label", "with_key"), CASES, ids=CASE_IDS)
def test_no_input_breaks_the_keyed_api(keyed: TestClient, label: str, with_key: bool) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", keyed.app, headers={"X-API-Key": KEY})
    operation = schema.find_operation_by_label(label)
    assert operation is not None
    headers = {"X-API-Key": KEY} if with_key else {}

    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def call(case: schemathesis.Case) -> None:
        response = case.call(headers=headers)
        if not with_key and label not in ("GET /health",):
            assert response.status_code == 401, response.text
        case.validate_response(response, checks=CHECKS)

    call()
