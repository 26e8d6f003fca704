"""Broker loss with the embedded Tansu (messages in memory only), and the recovery path: ``newsflow replay``.

Killing the embedded broker loses every message it held: articles ingest had published (and
archived) but the store had not yet stored. The files are not lost: ingest moves a file to
``processed/`` only after the broker acknowledged it, and keeps it there. Restarting the pipeline
(a fresh, empty broker) and replaying ``processed/`` brings every article back, each stored once.
"""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from bench.harness.pipeline import (
    assert_stored_exactly_once,
    dead_letters,
    drop,
    make_articles,
    stored_count,
    wait_until,
)
from tests.conftest import REPO_ROOT
from tests.faults.conftest import PipelineFactory

pytestmark = [pytest.mark.faults, pytest.mark.slow]

FIRST_WAVE = 50
SECOND_WAVE = 80
# The broker is killed once at least this many acknowledged (archived) articles are not stored yet.
MIN_IN_FLIGHT = 10
_REPLAY_TIMEOUT_SECONDS = 180


def test_lost_broker_messages_are_recovered_by_replaying_the_archive(
    pipelines: PipelineFactory, database_url: str
) -> None:
    pipeline = pipelines(database_url=database_url)
    files = make_articles(FIRST_WAVE + SECOND_WAVE, prefix="brokerloss")
    names = drop(pipeline.inbox, files[:FIRST_WAVE])
    wait_until(lambda: stored_count(database_url) >= FIRST_WAVE, "the first wave to be stored")

    def archived() -> int:
        return len(list(pipeline.processed_dir.rglob("brokerloss_*.txt")))

    names += drop(pipeline.inbox, files[FIRST_WAVE:])
    wait_until(
        lambda: archived() - stored_count(database_url) >= MIN_IN_FLIGHT,
        "acknowledged articles to be in flight between ingest and the store",
    )
    pipeline.broker().send_signal(signal.SIGKILL)
    pipeline.stop()

    stored_before = stored_count(database_url)
    lost = archived() - stored_before
    assert lost > 0, "the embedded broker's messages in flight are lost with it"

    # Restart: a fresh, empty broker. Files still in the inbox (or claimed) are picked up again;
    # the archived ones whose messages were lost come back only through a replay.
    pipeline.start()
    wait_until(lambda: archived() == len(names), "ingest to publish what was left in the inbox")
    env = {k: v for k, v in pipeline.env().items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    replay = subprocess.run(
        [sys.executable, "-m", "services.cli", "replay"],
        cwd=pipeline.root,
        env={**env, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=_REPLAY_TIMEOUT_SECONDS,
    )
    assert replay.returncode == 0, f"{replay.stdout}\n{replay.stderr}"
    assert "published again" in replay.stdout, replay.stdout

    wait_until(lambda: stored_count(database_url) >= len(names), f"all {len(names)} articles after the replay")
    rows = assert_stored_exactly_once(database_url, names)
    assert all(link is None for _, _, link, _ in rows), "a replayed article is the same article, not its own copy"
    assert dead_letters(database_url) == []
    assert archived() == len(names), "the archive is left as it was: it stays the recovery source"
