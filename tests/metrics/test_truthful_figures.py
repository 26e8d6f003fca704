"""Issue 25's acceptance, against the running ``newsflow run`` of this package (it adds articles, so it runs last).

- A replay of 50 files leaves the dashboard's live p95 tile within 2x of a fresh drop's latency;
  the replay is timed apart (origin ``replay``).
- ``newsflow ingest --once`` and ``newsflow replay``, run as a user runs them, count in the ingest
  service's throughput; entity tags are not counted again for articles replayed.
- A file stuck in ingest's claim folders turns ``/health`` degraded and shows on the dashboard
  within 30 s, and both recover once it is finished.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import psycopg
import pytest

from services.api.dashboard.scrape import parse_exposition
from tests.conftest import REPO_ROOT
from tests.metrics.conftest import SeededStack
from tests.stack import RunningPipeline, clean_environment

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPLAYED_FILES = 50
STORED_WITHIN_SECONDS = 120.0
HEALTH_DEGRADED_WITHIN_SECONDS = 30.0
CLI_TIMEOUT_SECONDS = 180.0


def _dashboard(pipeline: RunningPipeline) -> dict[str, Any]:
    data: dict[str, Any] = httpx.get(f"{pipeline.api}/dashboard/data", timeout=10).json()
    return data


def _tile(values: list[float | None]) -> float | None:
    """What the page's tile shows: the last value of the series that is not a gap."""
    return next((value for value in reversed(values) if value is not None), None)


def _article_text(number: int) -> str:
    return (
        f"Harbour authority report {number}\n\nKIEL: The harbour authority counted {number * 37} containers on "
        f"pier {number} this week, its report number {number} said on Tuesday. Dock workers at berth {number} "
        f"asked for {number + 3} more cranes before the winter season.\n"
    )


def _drop(pipeline: RunningPipeline, name: str, text: str) -> float:
    """Write the file beside the inbox and rename it in, as a finished download lands; when it landed."""
    staging = pipeline.inbox.parent / f"staging-{name}"
    staging.write_text(text)
    os.rename(staging, pipeline.inbox / name)
    return time.monotonic()


def _wait_stored(pipeline: RunningPipeline, count: int) -> None:
    deadline = time.monotonic() + STORED_WITHIN_SECONDS
    while httpx.get(f"{pipeline.api}/stats").json()["articles"] < count:
        assert time.monotonic() < deadline, f"{count} articles not stored within {STORED_WITHIN_SECONDS:.0f} s"
        time.sleep(0.25)


def _cli(pipeline: RunningPipeline, *args: str) -> subprocess.CompletedProcess[str]:
    """A newsflow command in the pipeline's folder, as a user types it (it finds the run through run.json)."""
    env = {**clean_environment(), "PYTHONPATH": str(REPO_ROOT), "NEWSFLOW_DATA_DIR": str(pipeline.data_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=pipeline.inbox.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _service_metrics(pipeline: RunningPipeline, service: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    groups = json.loads(pipeline.targets_file.read_text())
    address = next(group["targets"][0] for group in groups if group.get("labels", {}).get("service") == service)
    text = httpx.get(f"http://{address}/metrics", timeout=5).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for s in parse_exposition(text)}


def _total(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(value for (sample, found), value in samples.items() if sample == name and wanted <= set(found))


@pytest.fixture
def pipeline(seeded_stack: SeededStack) -> RunningPipeline:
    return seeded_stack.pipeline


@dataclass
class HungReplica:
    """A replica that hangs while it holds a file: its lock stays held, so nobody adopts the file.

    A thread watches /health from the moment the file is placed and keeps what it saw first.
    """

    pipeline: RunningPipeline
    lock: IO[str]
    file: Path
    placed_at: float = field(default_factory=time.monotonic)
    degraded_after: float | None = None
    status_code: int | None = None
    last_health: dict[str, Any] | None = None
    dashboard: dict[str, Any] | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    watcher: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        self.watcher = threading.Thread(target=self._watch, daemon=True)
        self.watcher.start()

    def age(self) -> float:
        return time.monotonic() - self.placed_at

    def _watch(self) -> None:
        while not self.stop.is_set() and self.age() < HEALTH_DEGRADED_WITHIN_SECONDS * 2:
            response = httpx.get(f"{self.pipeline.api}/health", timeout=10)
            self.last_health, self.status_code = response.json(), response.status_code
            if self.last_health["status"] == "degraded":
                self.degraded_after = self.age()
                self.dashboard = _dashboard(self.pipeline)
                return
            self.stop.wait(0.5)

    def release(self) -> None:
        self.stop.set()
        self.lock.close()


@pytest.fixture(scope="module")
def hung_replica(seeded_stack: SeededStack) -> Iterator[HungReplica]:
    """Started before the replay test, so the file gets stuck while the replay runs (no idle wait)."""
    pipeline = seeded_stack.pipeline
    assert httpx.get(f"{pipeline.api}/health").json()["status"] == "ok"
    claims = pipeline.data_dir / "ingest" / "claims"
    lock = (claims / "hung-replica.lock").open("a")
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    (claims / "hung-replica").mkdir()
    file = claims / "hung-replica" / "stuck.txt"
    file.write_text(_article_text(3000))
    hung = HungReplica(pipeline, lock, file)
    try:
        yield hung
    finally:
        hung.release()


def test_a_replay_leaves_the_live_latency_and_counts_in_the_throughput(
    pipeline: RunningPipeline, hung_replica: HungReplica
) -> None:
    stored = httpx.get(f"{pipeline.api}/stats").json()["articles"]

    # A fresh drop: what the live p95 tile says about a file dropped now.
    _drop(pipeline, "fresh-before.txt", _article_text(1000))
    stored += 1
    _wait_stored(pipeline, stored)
    pipeline_data = _dashboard(pipeline)
    fresh = _tile(pipeline_data["charts"]["latency_seconds"]["p95"])
    assert fresh is not None and fresh > 0

    # 50 files backfilled (ingest --once, as a user runs it), then the whole archive replayed.
    folder = pipeline.inbox.parent / "backfill"
    folder.mkdir()
    for number in range(REPLAYED_FILES):
        (folder / f"report-{number:02d}.txt").write_text(_article_text(number))
    ingest_before = _service_metrics(pipeline, "ingest")
    enrich_before = _service_metrics(pipeline, "enrich")
    _cli(pipeline, "ingest", str(folder), "--once")
    backfilled_at = time.monotonic()
    stored += REPLAYED_FILES
    _wait_stored(pipeline, stored)
    published = "newsflow_ingest_articles_published_total"
    deadline = time.monotonic() + 10
    while _total(_service_metrics(pipeline, "ingest"), published) < _total(ingest_before, published) + REPLAYED_FILES:
        assert time.monotonic() < deadline, "the backfill's articles never reached the ingest service's counters"
        time.sleep(0.5)

    # As after restoring an older database dump: the backfilled articles are gone from the store,
    # and the replay brings them back, timed from their first arrival. That arrival must be old
    # enough for the replay's latency to be more than twice a fresh drop's, or this would prove nothing.
    time.sleep(max(0.0, 3 * fresh - (time.monotonic() - backfilled_at)))
    with psycopg.connect(pipeline.run_info()["database_url"], autocommit=True) as conn:
        conn.execute("DELETE FROM articles WHERE source_file LIKE 'report-%'")
    tags_before_replay = _total(_service_metrics(pipeline, "enrich"), "newsflow_enrich_entities_total")
    archived = sum(1 for path in (pipeline.data_dir / "processed").rglob("*") if path.suffix == ".txt")
    assert archived >= REPLAYED_FILES
    replay_started = time.monotonic()
    _cli(pipeline, "replay")
    _wait_stored(pipeline, stored)
    replay_seconds = time.monotonic() - replay_started

    # A fresh drop after the replay, and what the dashboard says now.
    _drop(pipeline, "fresh-after.txt", _article_text(2000))
    stored += 1
    _wait_stored(pipeline, stored)
    time.sleep(5)  # the store's next sample of its own metrics
    charts = _dashboard(pipeline)["charts"]
    live = [value for value in charts["latency_seconds"]["p95"] if value is not None]
    assert _tile(charts["latency_seconds"]["p95"]) is not None
    assert max(live) <= 2 * fresh, f"live p95 rose to {max(live):.2f} s over the replay (fresh drop {fresh:.2f} s)"
    catchup = [value for value in charts["catchup_p95_seconds"] if value is not None]
    assert catchup and max(catchup) > 2 * fresh, "the replay's latency (from the first arrival) is shown apart"

    # The counts: the replay in ingest's throughput; enrich re-tagged nothing it had tagged before.
    ingest_after = _service_metrics(pipeline, "ingest")
    assert _total(ingest_after, published) >= _total(ingest_before, published) + REPLAYED_FILES + archived
    enrich_after = _service_metrics(pipeline, "enrich")
    assert _total(enrich_after, "newsflow_enrich_outcome_total", outcome="seen_before") >= (
        _total(enrich_before, "newsflow_enrich_outcome_total", outcome="seen_before") + archived
    )
    fresh_tags = _total(enrich_after, "newsflow_enrich_entities_total") - tags_before_replay
    assert fresh_tags < 50, f"{fresh_tags} entity tags counted for {archived + 1} articles, all but one replayed"
    store = _service_metrics(pipeline, "store")
    assert _total(store, "newsflow_store_end_to_end_seconds_count", origin="replay") >= REPLAYED_FILES
    assert _total(store, "newsflow_store_end_to_end_seconds_count", origin="backfill") >= REPLAYED_FILES
    print(
        f"fresh drop p95 tile {fresh:.2f} s; after a replay of {archived} files ({replay_seconds:.1f} s) "
        f"live p95 <= {max(live):.2f} s, replay p95 {max(catchup):.2f} s"
    )


def test_a_file_stuck_in_the_claim_folders_degrades_health_and_shows_within_30_s(
    pipeline: RunningPipeline, hung_replica: HungReplica
) -> None:
    hung_replica.watcher.join(timeout=max(0.0, HEALTH_DEGRADED_WITHIN_SECONDS + 5 - hung_replica.age()))
    assert hung_replica.degraded_after is not None, f"/health never degraded: {hung_replica.last_health}"
    assert hung_replica.degraded_after <= HEALTH_DEGRADED_WITHIN_SECONDS
    health = hung_replica.last_health
    assert health is not None and "1 file(s) stuck" in health["reason"], health
    assert hung_replica.status_code == 200, "the API still serves"
    data = hung_replica.dashboard
    assert data is not None and any("stuck" in reason for reason in data["attention"]), data
    assert _tile(data["charts"]["stuck_files"]) == 1 and _tile(data["charts"]["claimed_files"]) == 1
    print(f"/health degraded {hung_replica.degraded_after:.1f} s after the file got stuck")

    # The replica's lock is gone: ingest adopts the file, publishes it, and all is well again.
    hung_replica.release()
    deadline = time.monotonic() + 60
    while httpx.get(f"{pipeline.api}/health").json()["status"] != "ok":
        assert time.monotonic() < deadline, "health never came back once the file was finished"
        time.sleep(0.5)
    assert not hung_replica.file.exists()
