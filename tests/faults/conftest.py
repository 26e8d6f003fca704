"""Fixtures of the fault tests: pipelines that are always stopped, with their logs shown on failure."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bench.harness.pipeline import Pipeline

PipelineFactory = Callable[..., Pipeline]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    # Remember the outcome so the fixture below knows whether to print the services' logs.
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def pipelines(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[PipelineFactory]:
    """``pipelines(database_url=..., enrich_replicas=...)``: a started pipeline, stopped after the test."""
    started: list[Pipeline] = []

    def factory(**options: object) -> Pipeline:
        root = tmp_path / f"pipeline-{len(started)}"
        root.mkdir()
        pipeline = Pipeline(root, **options)  # type: ignore[arg-type]
        started.append(pipeline)
        return pipeline.start()

    yield factory
    failed = getattr(request.node, "rep_call", None) is None or request.node.rep_call.failed
    for pipeline in started:
        pipeline.stop()
        if failed:
            pipeline.dump_logs()
