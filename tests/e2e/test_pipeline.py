"""End to end, as a user runs it: ``newsflow run`` on embedded defaults, seeds dropped in the inbox.

Real processes, the real Tansu broker, real embedded Postgres, the real HTTP API. Checks issue 2's
acceptance list, then that SIGTERM leaves no process behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.conftest import SEEDS_DIR
from tests.stack import RunningPipeline, start_pipeline

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

_SEEDS_VISIBLE_WITHIN_SECONDS = 15.0
_EXPECTED_DATES = {"001": "2025-02-04", "002": "2024-11-07", "003": "2024-11-03", "004": "2024-11-08"}


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[RunningPipeline]:
    with start_pipeline(tmp_path) as running:
        yield running


def _articles(api: str, **params: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{api}/articles", params={"include_duplicates": "true", "limit": "100", **params})
    response.raise_for_status()
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_seeds_flow_through_the_whole_pipeline(pipeline: RunningPipeline) -> None:
    banner = pipeline.output.read_text()
    assert str(pipeline.inbox) in banner and f"{pipeline.api}/docs" in banner

    dropped_at = time.monotonic()
    for seed in sorted(SEEDS_DIR.glob("*.txt")):
        shutil.copy(seed, pipeline.inbox / seed.name)

    items: list[dict[str, Any]] = []
    while time.monotonic() - dropped_at < _SEEDS_VISIBLE_WITHIN_SECONDS:
        items = _articles(pipeline.api)
        if len(items) >= 5:
            break
        time.sleep(0.25)
    elapsed = time.monotonic() - dropped_at
    assert len(items) == 5, f"{len(items)} of 5 seeds listed after {elapsed:.1f} s"

    by_prefix = {item["source_file"][:3]: item for item in items}
    assert sorted(by_prefix) == ["000", "001", "002", "003", "004"]
    for prefix, expected in _EXPECTED_DATES.items():
        assert by_prefix[prefix]["published_at"] == expected, prefix
    assert by_prefix["001"]["title"] == "Asif rules out possibility of pressure from US for Imran Khan's release"
    assert all(item["duplicate_of"] is None for item in items), "the five seeds are different articles"

    entities = {(e["type"], e["name"]) for item in items for e in item["entities"]}
    for expected_entity in [
        ("PERSON", "Imran Khan"),
        ("PERSON", "Donald Trump"),
        ("PERSON", "Khawaja Asif"),
        ("ORG", "PTI"),
    ]:
        assert expected_entity in entities
    imran = [e for e in by_prefix["000"]["entities"] if e["name"] == "Imran Khan"]
    assert imran and imran[0]["mentions"], "an entity keeps the surface forms it was found under"

    detail = httpx.get(f"{pipeline.api}/articles/{by_prefix['001']['id']}").json()
    assert "Khawaja Asif" in detail["body"] and "reprints" in detail
    assert "Scroll to Top" not in detail["body"], "site boilerplate is removed from the body"

    people = httpx.get(f"{pipeline.api}/entities", params={"type": "PERSON", "limit": "100"}).json()
    people_items = people["items"] if isinstance(people, dict) else people
    imran_entity = next(e for e in people_items if e["name"] == "Imran Khan")
    assert imran_entity["article_count"] == 5

    assert not any(pipeline.inbox.iterdir()), "the inbox ends empty"

    # The store runs apart from the API: its consumers' states on its own metrics port, which /health reads.
    store_metrics = httpx.get(pipeline.store_metrics(), timeout=10).text
    assert 'newsflow_store_consumer_state{consumer="articles",state="ok"} 1.0' in store_metrics
    assert httpx.get(f"{pipeline.api}/health", timeout=10).json()["consumers"]["articles"]["state"] == "ok"


def test_sigterm_stops_everything(pipeline: RunningPipeline) -> None:
    info = pipeline.run_info()
    pids = [*info["services"].values()]
    assert len(pids) == 4, "ingest, enrich, the store and the API"
    broker_pids = [p.pid for p in psutil.Process(pipeline.process.pid).children() if "tansu" in " ".join(p.cmdline())]
    assert broker_pids, "the embedded broker runs under the supervisor"

    pipeline.process.send_signal(signal.SIGTERM)
    assert pipeline.process.wait(timeout=60) == 0
    time.sleep(0.5)
    survivors = [pid for pid in [*pids, *broker_pids] if psutil.pid_exists(pid) and _alive(pid)]
    assert not survivors, f"processes left behind: {survivors}"
    assert not (pipeline.data_dir / "postgres" / "postmaster.pid").exists(), "embedded Postgres was stopped"


@pytest.mark.parametrize("service", ["store", "api"])
def test_a_crashed_service_is_restarted(pipeline: RunningPipeline, service: str) -> None:
    old_pid = pipeline.run_info()["services"][service]
    os.kill(old_pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        new_pid = pipeline.run_info()["services"][service]
        if new_pid != old_pid:
            try:
                if httpx.get(f"{pipeline.api}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
        time.sleep(0.5)
    raise AssertionError(f"{service} was not restarted after kill -9")


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
