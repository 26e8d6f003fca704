"""Two enrich replicas, one killed (-9) during a rebalance: nothing lost, nothing doubled, reprints linked.

The rebalance is a real one: replica 2 is killed, the supervisor restarts it, and when the new
replica joins the group replica 1 must give up its partitions; replica 1 is killed right then,
with articles (originals and their reprints) in flight.
"""

from __future__ import annotations

import time

import pytest

from bench.harness.pipeline import (
    RESTART_TIMEOUT_SECONDS,
    ArticleFile,
    assert_stored_exactly_once,
    dead_letters,
    drop,
    make_articles,
    reprint_of,
    stored_count,
    wait_until,
)
from tests.faults.conftest import PipelineFactory

pytestmark = [pytest.mark.faults, pytest.mark.slow]

FIRST_WAVE = 100
SECOND_WAVE = 60
REPRINTS_PER_WAVE = 12
_STARTED = "consumer started"
_REVOKED = "partitions revoked"
_ASSIGNED = "partitions assigned"


def _reprints(originals: list[ArticleFile], prefix: str) -> tuple[list[ArticleFile], dict[str, str]]:
    """Reprints of every few originals, and which original each one copies."""
    step = len(originals) // REPRINTS_PER_WAVE
    chosen = originals[::step][:REPRINTS_PER_WAVE]
    copies = [reprint_of(original, f"{prefix}_{i:03d}.txt") for i, original in enumerate(chosen)]
    return copies, {copy.name: original.name for copy, original in zip(copies, chosen, strict=True)}


def test_replica_killed_during_a_rebalance_loses_nothing_and_reprints_stay_linked(
    pipelines: PipelineFactory, database_url: str
) -> None:
    pipeline = pipelines(database_url=database_url, enrich_replicas=2)
    # Both replicas own partitions before anything flows.
    wait_until(
        lambda: all(pipeline.log_lines(name, _ASSIGNED) >= 1 for name in ("enrich-1", "enrich-2")),
        "both enrich replicas to join the group",
        RESTART_TIMEOUT_SECONDS,
    )
    first = make_articles(FIRST_WAVE, prefix="rebalance-a")
    second = make_articles(SECOND_WAVE, prefix="rebalance-b")
    reprints_a, copied_a = _reprints(first, "reprint-a")
    reprints_b, copied_b = _reprints(second, "reprint-b")

    names = drop(pipeline.inbox, first)
    wait_until(lambda: stored_count(database_url) >= 10, "the first articles to be stored")
    # Counted before the kill: the rebalance that follows (replica 2's session expiring, or its
    # restarted process joining, whichever comes first) can start before the new one subscribes.
    revoked_before = pipeline.log_lines("enrich-1", _REVOKED)
    old_replica_2 = pipeline.kill("enrich-2")
    # Reprints come later than their originals, as they do in the news.
    names += drop(pipeline.inbox, [*second, *reprints_a])
    pipeline.wait_restarted("enrich-2", old_replica_2)

    # Replica 2's departure and return make replica 1 give up its partitions: kill it right then.
    wait_until(
        lambda: pipeline.log_lines("enrich-1", _REVOKED) > revoked_before,
        "replica 1 to enter the rebalance caused by replica 2 leaving and rejoining",
        RESTART_TIMEOUT_SECONDS,
    )
    in_flight = len(names) - stored_count(database_url)
    killed_at = time.monotonic()
    old_replica_1 = pipeline.kill("enrich-1")
    assert in_flight > 0, "replica 1 must be killed with articles still to enrich"
    names += drop(pipeline.inbox, reprints_b)
    pipeline.wait_restarted("enrich-1", old_replica_1)

    total = FIRST_WAVE + SECOND_WAVE + 2 * REPRINTS_PER_WAVE
    wait_until(lambda: stored_count(database_url) >= total, f"all {total} articles to be stored")
    rows = assert_stored_exactly_once(database_url, names)
    by_file = {source_file: (article_id, duplicate_of, kind) for source_file, article_id, duplicate_of, kind in rows}
    copied = {**copied_a, **copied_b}
    for copy, original in copied.items():
        original_id, original_link, _ = by_file[original]
        _, link, kind = by_file[copy]
        assert (link, kind) == (original_id, "reprint"), f"{copy} must be linked to {original} ({original_id})"
        assert original_link is None, f"{original} is the original, not a copy"
    unlinked = [name for name, (_, link, _) in by_file.items() if name not in copied and link is not None]
    assert unlinked == [], "only the reprints are linked"
    assert dead_letters(database_url) == []
    assert time.monotonic() - killed_at < 600
