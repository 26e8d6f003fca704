"""Watches under a crash (issue 26): with watches and a reconnecting SSE client, ``kill -9`` of the store (the
process that matches and delivers) mid-run loses no match and doubles none: every match reaches
the loopback receiver (which dedupes by delivery id), signed, and every stored article reaches
the stream client exactly once. The same run on the 1,496 dev files with 100 watches is
``bench/watches.py``."""

from __future__ import annotations

import pytest

from bench.harness.pipeline import make_articles
from bench.harness.watch_run import run_watches
from tests.faults.conftest import PipelineFactory

pytestmark = [pytest.mark.faults, pytest.mark.slow]

ARTICLES = 150
WATCHES = 20


def test_kill_9_of_the_store_mid_run_loses_and_doubles_no_delivery(
    pipelines: PipelineFactory, database_url: str
) -> None:
    pipeline = pipelines(database_url=database_url)
    report, receiver = run_watches(
        pipeline,
        database_url,
        make_articles(ARTICLES, prefix="watch"),
        watch_count=WATCHES,
        kill_store=True,
        drop_every=25,
        timeout_seconds=300,
    )
    assert report.stored == ARTICLES and report.streamed == ARTICLES
    assert report.matches > ARTICLES, "the watches match (the unfiltered ones alone match every original)"
    assert report.delivered_unique == report.matches and report.bad_signatures == 0
    assert report.stream_connections >= ARTICLES // 25, "the stream client reconnected as it went"
    assert all(len(body) > 0 for _, body in receiver.requests)
