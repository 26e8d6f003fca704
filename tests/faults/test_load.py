"""1,000 files dropped at once are all stored, memory stays bounded and no file descriptor leaks.

The 10,000-file version takes longer than a test should on 2 cores: ``bench/load.py`` runs it and
records the figures in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import pytest

from bench.harness.load import FD_LEAK_MARGIN, names_of, run_load, summary_lines
from bench.harness.pipeline import assert_stored_exactly_once, dead_letters
from bench.harness.resources import MIB
from tests.faults.conftest import PipelineFactory

pytestmark = [pytest.mark.faults, pytest.mark.slow]

FILES = 1000
TIMEOUT_SECONDS = 420.0
# Issue 4: one enrich process stays under 600 MB; nothing else should come near 1.5 GB.
ENRICH_RSS_LIMIT_BYTES = 600 * MIB
ANY_SERVICE_RSS_LIMIT_BYTES = 1536 * MIB


def test_a_thousand_files_at_once(
    pipelines: PipelineFactory, database_url: str, record_property: pytest.RecordProperty
) -> None:
    pipeline = pipelines(database_url=database_url)
    result = run_load(pipeline, database_url, FILES, timeout_seconds=TIMEOUT_SECONDS)
    report = summary_lines(result)
    record_property("load", "; ".join(report))
    print("\n" + "\n".join(report))

    assert_stored_exactly_once(database_url, names_of(result))
    assert dead_letters(database_url) == []
    assert not any(pipeline.inbox.iterdir()), "the inbox ends empty"
    for name, usage in result.usage.items():
        limit = ENRICH_RSS_LIMIT_BYTES if name.startswith("enrich") else ANY_SERVICE_RSS_LIMIT_BYTES
        assert usage.peak_rss_bytes < limit, f"{name} peaked at {usage.peak_rss_mib:.0f} MiB"
    for name in ("ingest", "enrich", "store", "api"):
        grown = result.fds_after[name] - result.fds_before[name]
        assert grown <= FD_LEAK_MARGIN, f"{name} holds {grown} more file descriptors after the load than before"
