"""Fuzzing the watch routes and ``GET /stream`` from the OpenAPI document (schemathesis): no input causes a 500.

Like ``test_api_fuzz`` (whose checks it uses), with valid and invalid examples per operation; the
stream is cut after 50 ms so each example ends.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from services.store.api.app import create_app
from shared.config import Settings
from tests.store.test_api_fuzz import CHECKS

EXAMPLES_PER_OPERATION_AND_MODE = 40
WATCH_OPERATIONS = [
    "POST /watches",
    "GET /watches",
    "GET /watches/{watch_id}",
    "PUT /watches/{watch_id}",
    "DELETE /watches/{watch_id}",
    "GET /stream",
]
# GET /watches has no parameters: no invalid input to generate.
CASES = [(label, GenerationMode.POSITIVE) for label in WATCH_OPERATIONS] + [
    (label, GenerationMode.NEGATIVE) for label in WATCH_OPERATIONS if label != "GET /watches"
]


@pytest.fixture(scope="module")
def client(seeded_database_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=seeded_database_url, stream_max_seconds=0.05))
    with TestClient(app) as test_client:
        # A few watches to change and delete (the fuzzer also asks for ids that do not exist).
        for name in ("a", "b", "c"):
            test_client.post("/watches", json={"name": name})
        yield test_client


@pytest.mark.parametrize(("label", "mode"), CASES, ids=[f"{label}-{mode.value}" for label, mode in CASES])
def test_no_input_breaks_the_watch_routes(client: TestClient, label: str, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    operation = schema.find_operation_by_label(label)
    assert operation is not None

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION_AND_MODE,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def call(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=CHECKS)

    call()
