"""``kill -9`` of enrich, then of the store, while 300 articles flow: restarted, and each stored exactly once.

SIGKILL leaves no chance to clean up: whatever a service had polled but not committed is
delivered again to its successor, and must neither be lost nor stored twice.
"""

from __future__ import annotations

import pytest

from bench.harness.pipeline import (
    assert_stored_exactly_once,
    dead_letters,
    drop,
    make_articles,
    stored_count,
    wait_until,
)
from tests.faults.conftest import PipelineFactory

pytestmark = [pytest.mark.faults, pytest.mark.slow]

ARTICLES = 300
WAVES = 3


def test_killed_enrich_and_store_are_restarted_and_nothing_is_lost_or_doubled(
    pipelines: PipelineFactory, database_url: str
) -> None:
    pipeline = pipelines(database_url=database_url)
    files = make_articles(ARTICLES, prefix="crash")
    wave = ARTICLES // WAVES
    names = drop(pipeline.inbox, files[:wave])

    # enrich dies with a batch in hand while the first wave is being enriched.
    wait_until(lambda: stored_count(database_url) >= wave // 4, "the first articles to be stored")
    names += drop(pipeline.inbox, files[wave : 2 * wave])
    in_flight = len(names) - stored_count(database_url)
    old_enrich = pipeline.kill("enrich")
    assert in_flight > 0, "enrich must be killed with articles still to enrich"
    pipeline.wait_restarted("enrich", old_enrich)

    # The store dies mid-stream once the restarted enrich feeds it again.
    before = stored_count(database_url)
    wait_until(lambda: stored_count(database_url) > before, "the restarted enrich to feed the store")
    names += drop(pipeline.inbox, files[2 * wave :])
    in_flight = len(names) - stored_count(database_url)
    old_store = pipeline.kill("store")
    assert in_flight > 0, "the store must be killed with articles still to store"
    pipeline.wait_restarted("store", old_store)

    wait_until(lambda: stored_count(database_url) >= ARTICLES, f"all {ARTICLES} articles to be stored")
    wait_until(lambda: pipeline.health().status_code == 200, "the restarted store to report healthy")
    rows = assert_stored_exactly_once(database_url, names)
    assert all(duplicate_of is None for _, _, duplicate_of, _ in rows), "the generated articles are all distinct"
    assert dead_letters(database_url) == [], "a crash must not turn good articles into dead letters"
    assert not any(pipeline.inbox.iterdir()), "every file left the inbox"
    assert len(list(pipeline.processed_dir.rglob("crash_*.txt"))) == ARTICLES, "every file is archived"
