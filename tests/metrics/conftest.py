"""One running stack for the metrics tests: ``newsflow run``, a Prometheus scraping it, the seeds pushed through.

Prometheus starts before the seeds are dropped so that every counter is seen increasing (a rate
needs two samples on either side of the work). Without Debian's prometheus the stack still runs
(the browser test needs no Prometheus) and the Prometheus test skips. Debian's postgres_exporter,
where installed (``make system-deps``), watches the pipeline's embedded Postgres, so the
dashboard's Postgres panels are tested too; no kafka_exporter runs (Debian has none, and the
embedded broker is Tansu), so the broker panels that read it are not.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.metrics.prometheus import (
    RunningPrometheus,
    postgres_exporter_binary,
    prometheus_binary,
    start_postgres_exporter,
    start_prometheus,
)
from tests.stack import RunningPipeline, dump_logs, start_pipeline

SEEDS_STORED_WITHIN_SECONDS = 60.0
TARGETS_UP_WITHIN_SECONDS = 30.0
# Enough scrapes after the seeds are stored for every rate window to hold the increase.
SCRAPES_AFTER_SEEDS_SECONDS = 3.0
EXPECTED_TARGETS = 4  # ingest, enrich, store, api


@dataclass
class SeededStack:
    pipeline: RunningPipeline
    prometheus: RunningPrometheus | None
    seeds: int
    postgres_exporter: str | None = None


@pytest.fixture(scope="package")
def seeded_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededStack]:
    workdir = tmp_path_factory.mktemp("metrics-stack")
    binary = prometheus_binary()
    with contextlib.ExitStack() as stack:
        pipeline = stack.enter_context(start_pipeline(workdir))
        prometheus = None
        exporter = None
        exporter_binary = postgres_exporter_binary()
        if binary is not None and exporter_binary is not None:
            url = pipeline.run_info()["database_url"]
            url += ("&" if "?" in url else "?") + "sslmode=disable"
            exporter = stack.enter_context(start_postgres_exporter(exporter_binary, url, workdir / "pg-exporter.log"))
        if binary is not None:
            prometheus = stack.enter_context(
                start_prometheus(binary, workdir / "prometheus", pipeline.targets_file, exporter)
            )
            prometheus.wait_until(
                'up{job="newsflow"} == 1', lambda result: len(result) == EXPECTED_TARGETS, TARGETS_UP_WITHIN_SECONDS
            )
        seeds = pipeline.drop_seeds()
        try:
            pipeline.wait_for_articles(seeds, SEEDS_STORED_WITHIN_SECONDS)
        except AssertionError:
            dump_logs(pipeline)
            raise
        if prometheus is not None:
            time.sleep(SCRAPES_AFTER_SEEDS_SECONDS)
        yield SeededStack(pipeline, prometheus, seeds, exporter)
