"""Fuzzing the read API from its own OpenAPI document (schemathesis): no input may cause a 500.

Besides "not a server error", every response must be documented (status code, content type,
body schema). Each operation gets valid and invalid examples, a fixed number of each, so the test
is bounded to seconds. Schemathesis' ``negative_data_rejection`` check is left out: it counts
``entity=false`` as invalid (a boolean for a string), but in a query string that is a valid string. (Schemathesis'
own pytest fixture loader does not work under pytest 9, so hypothesis is driven directly.)
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES_PER_OPERATION_AND_MODE = 60
OPERATIONS = [
    "GET /health",
    "GET /articles",
    "GET /articles/{article_id}",
    # Issue 27's counts over the listing's filters.
    "GET /articles/facets",
    "GET /articles/timeline",
    "GET /entities",
    "GET /entities/{entity_key}",
    # Issue 27's co-occurrences, over the same filters.
    "GET /entities/{entity_key}/related",
    "GET /stories",
    "GET /stories/{story_id}",
    "GET /stats",
    # Issue 26's watches and stream (the client's stream ends after 0.2 s, so each example ends).
    "POST /watches",
    "GET /watches",
    "GET /watches/{watch_id}",
    "PUT /watches/{watch_id}",
    "DELETE /watches/{watch_id}",
    "GET /stream",
]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_every_operation_is_fuzzed(client: TestClient) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    assert sorted(result.ok().label for result in schema.get_all_operations()) == sorted(OPERATIONS)


# Operations without parameters have no invalid input to generate.
CASES = [(label, GenerationMode.POSITIVE) for label in OPERATIONS] + [
    (label, GenerationMode.NEGATIVE)
    for label in OPERATIONS
    if label not in ("GET /health", "GET /stats", "GET /watches")
]


@pytest.mark.parametrize(("label", "mode"), CASES, ids=[f"{label}-{mode.value}" for label, mode in CASES])
def test_no_input_breaks_the_api(client: TestClient, label: str, mode: GenerationMode) -> None:
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
