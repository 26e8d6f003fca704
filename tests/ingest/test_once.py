"""`newsflow ingest PATH --once` and the metrics endpoint, against a real broker."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.embedded import free_port, wait_for_port
from services.ingest.archive import archived_files
from services.ingest.handover import handover_dir
from services.ingest.metrics import CONTENT_TYPES
from services.ingest.once import OnceSummary, backfill, run_once
from services.ingest.parsing.errors import FILE_REASONS
from services.ingest.replay import replay_archive
from services.ingest.sources import SourceHandling
from shared.config import Settings
from tests.conftest import SEEDS_DIR, folder_snapshot
from tests.ingest.support import dead_letters, drop, raw_events, wait_for

_METRICS_START_SECONDS = 20.0
_STOP_SECONDS = 10.0
_STUCK_AFTER_SECONDS = 2.0


def _seed(prefix: str) -> Path:
    (path,) = SEEDS_DIR.glob(f"{prefix}_*.txt")
    return path


def test_backfill_counts_published_duplicates_bad_records_and_rejections(
    ingest_settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "backfill"
    folder.mkdir()
    shutil.copy(_seed("001"), folder / "first.txt")
    shutil.copy(_seed("002"), folder / "second.txt")
    shutil.copy(_seed("001"), folder / "copy of first.txt")  # the same bytes under another name
    good = [json.dumps({"title": f"Item {n}", "body": f"Body of item {n}."}) for n in range(2)]
    (folder / "feed.jsonl").write_text("\n".join([good[0], "{broken", good[1]]))
    (folder / "empty.txt").write_bytes(b"")
    (folder / "broken.json").write_text('{"title": ')
    (folder / "notes.pdf").write_bytes(b"%PDF-1.7 not an article")

    summary = backfill(ingest_settings, folder, sources=SourceHandling.move)

    assert summary == OnceSummary(
        published_files=4,
        articles=5,
        duplicates=1,
        bad_records=1,
        rejected={"empty": 1, "invalid_json": 1, "unsupported_type": 1},
        unfinished=0,
    )
    assert summary.exit_code == 1
    assert not any(folder.iterdir()), "with --sources move every file was moved out of the folder"
    assert len(raw_events(ingest_settings)) == 5
    assert {event.origin for event in raw_events(ingest_settings)} == {"backfill"}, "timed apart from live drops"
    assert {d.reason for d in dead_letters(ingest_settings)} == {"empty", "invalid_json", "unsupported_type"}


def test_backfill_leaves_the_folder_as_it_was_and_archives_its_own_copies(
    ingest_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "my files"
    folder.mkdir()
    shutil.copy(_seed("001"), folder / "first.txt")
    shutil.copy(_seed("002"), folder / "second.txt")
    (folder / "notes.pdf").write_bytes(b"%PDF-1.7 not an article")
    before = folder_snapshot(folder)

    assert run_once(ingest_settings, folder) == 1  # the pdf is rejected

    assert folder_snapshot(folder) == before, "the user's folder is left exactly as it was"
    archived = archived_files(ingest_settings.processed_dir)
    assert sorted(a.record.source_file for a in archived if a.record) == ["first.txt", "second.txt"]
    assert sorted(p.name for p in ingest_settings.rejected_dir.iterdir()) == ["notes.pdf", "notes.pdf.error.json"]
    assert not any((ingest_settings.data_dir / "ingest" / "backfill").iterdir()), "no staging copy is left over"
    assert {e.source_file for e in raw_events(ingest_settings)} == {"first.txt", "second.txt"}
    out = " ".join(capsys.readouterr().out.split())
    assert f"the files in {folder} were left as they were" in out
    assert "the archive keeps its own copy" in out


def test_backfill_ids_do_not_depend_on_whether_the_sources_are_kept(ingest_settings: Settings, tmp_path: Path) -> None:
    kept, moved = tmp_path / "kept", tmp_path / "moved"
    for folder in (kept, moved):
        folder.mkdir()
        shutil.copy(_seed("003"), folder / "story.txt")
    backfill(ingest_settings, kept / "story.txt")
    backfill(ingest_settings, moved / "story.txt", sources=SourceHandling.move)
    first, second = raw_events(ingest_settings)
    assert first.article_id == second.article_id, "the same name and bytes are the same article"
    assert (kept / "story.txt").exists() and not (moved / "story.txt").exists()


def test_backfill_with_sources_delete_removes_published_files_only(
    ingest_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "to delete"
    folder.mkdir()
    shutil.copy(_seed("004"), folder / "story.txt")
    (folder / "empty.txt").write_bytes(b"")

    assert run_once(ingest_settings, folder, sources=SourceHandling.delete) == 1

    assert not any(folder.iterdir())
    assert not ingest_settings.processed_dir.exists() or not any(ingest_settings.processed_dir.rglob("*.txt"))
    assert (ingest_settings.rejected_dir / "empty.txt.error.json").exists()
    assert "published files were deleted" in " ".join(capsys.readouterr().out.split())


def test_the_progress_bar_moves_as_batches_are_published(
    ingest_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rich.progress import Progress

    folder = tmp_path / "many"
    folder.mkdir()
    for n in range(70):
        (folder / f"story-{n:03}.txt").write_text(f"Story {n}\n\nLONDON: Text of story number {n} goes here.\n")
    seen: list[float] = []
    original_update = Progress.update

    def recording_update(self: Progress, task_id: object, **fields: object) -> None:
        if fields.get("completed") is not None:
            seen.append(float(fields["completed"]))  # type: ignore[arg-type]
        original_update(self, task_id, **fields)  # type: ignore[arg-type]

    monkeypatch.setattr(Progress, "update", recording_update)
    summary = backfill(ingest_settings, folder)
    assert summary.published_files == 70
    # Claimed and published 32 files a round trip: the bar moves at each, not only at the end.
    assert seen[:3] == [32, 64, 70], seen


def test_run_once_exits_0_when_all_published_and_prints_the_summary(
    ingest_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "good"
    folder.mkdir()
    for prefix in ("003", "004"):
        shutil.copy(_seed(prefix), folder / _seed(prefix).name)

    assert run_once(ingest_settings, folder) == 0

    out = capsys.readouterr().out
    assert re.search(r"published\s*│\s*2\s*│\s*2", out), out
    assert "rejected" not in out
    assert {e.source_file for e in raw_events(ingest_settings)} == {_seed("003").name, _seed("004").name}


def test_run_once_of_one_rejected_file_exits_1_and_names_the_reason(
    ingest_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blank = tmp_path / "blank.txt"
    blank.write_text("  \n\n \n")

    assert run_once(ingest_settings, blank) == 1

    assert re.search(r"rejected: blank\s*│\s*1", capsys.readouterr().out)
    assert json.loads((ingest_settings.rejected_dir / "blank.txt.error.json").read_text())["reason"] == "blank"


def test_run_once_of_a_missing_path_exits_1(ingest_settings: Settings, tmp_path: Path) -> None:
    assert run_once(ingest_settings, tmp_path / "no such folder") == 1


# --- metrics -------------------------------------------------------------------------------------


@pytest.fixture
def ingest_process(ingest_settings: Settings, tmp_path: Path) -> Iterator[tuple[Settings, str]]:
    """`newsflow ingest` as its own process (so every counter starts at 0), and its metrics URL."""
    port = free_port()
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": ingest_settings.require_kafka(),
        "NEWSFLOW_DATA_DIR": str(ingest_settings.data_dir),
        "NEWSFLOW_INBOX": str(ingest_settings.inbox),
        "NEWSFLOW_INGEST_METRICS_PORT": str(port),
        "NEWSFLOW_FILE_SETTLE_SECONDS": "0.2",
        "NEWSFLOW_INBOX_POLL_INTERVAL_SECONDS": "0.5",
        "NEWSFLOW_STUCK_CLAIM_SECONDS": str(_STUCK_AFTER_SECONDS),
    }
    log_path = tmp_path / "ingest.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "ingest"], cwd=tmp_path, env=env, stdout=log, stderr=log
        )
    try:
        if not wait_for_port("127.0.0.1", port, _METRICS_START_SECONDS):
            raise AssertionError(f"metrics never served; ingest log:\n{log_path.read_text()}")
        # Metrics are served before the service has connected and made its folders (so a slow
        # broker shows on /metrics); a test that writes into those folders waits for the start.
        wait_for(lambda: "ingest started" in log_path.read_text(errors="replace"), "ingest to start")
        yield ingest_settings, f"http://127.0.0.1:{port}/metrics"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=_STOP_SECONDS) == 0, log_path.read_text()


def _scrape(url: str) -> dict[str, float]:
    """Sample name with labels (as exposed) -> value, for the newsflow_ingest_* series."""
    text = httpx.get(url, timeout=5.0).text
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("newsflow_ingest_"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_metrics_are_served_with_every_labelled_counter_at_zero(ingest_process: tuple[Settings, str]) -> None:
    settings, url = ingest_process
    first = _scrape(url)
    for reason in FILE_REASONS:
        assert first[f'newsflow_ingest_files_rejected_total{{reason="{reason}"}}'] == 0
        assert first[f'newsflow_ingest_records_rejected_total{{reason="{reason}"}}'] == 0
    for kind in CONTENT_TYPES:
        assert first[f'newsflow_ingest_files_published_total{{content_type="{kind}"}}'] == 0
        assert first[f'newsflow_ingest_articles_published_total{{content_type="{kind}"}}'] == 0
    for unlabelled in ("files_seen_total", "bytes_total", "publish_latency_seconds_count", "inbox_backlog_files"):
        assert first[f"newsflow_ingest_{unlabelled}"] == 0, unlabelled

    article = b"Storm closes port\n\nHAMBURG: The port closed on Monday after the storm.\n"
    drop(settings.inbox / "story.txt", article)
    drop(settings.inbox / "empty.txt", b"")
    wait_for(lambda: _scrape(url)["newsflow_ingest_files_seen_total"] == 2, "both files to be taken")
    wait_for(lambda: _scrape(url)['newsflow_ingest_files_rejected_total{reason="empty"}'] == 1, "the rejection")
    after = _scrape(url)
    assert after['newsflow_ingest_files_published_total{content_type="text"}'] == 1
    assert after['newsflow_ingest_articles_published_total{content_type="text"}'] == 1
    assert after["newsflow_ingest_bytes_total"] == len(article)
    assert after["newsflow_ingest_publish_latency_seconds_count"] == 1
    assert after['newsflow_ingest_files_rejected_total{reason="blank"}'] == 0


def test_run_once_without_a_broker_says_how_to_give_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(kafka_bootstrap_servers=None, data_dir=tmp_path / "data", inbox=tmp_path / "inbox")
    story = tmp_path / "story.txt"
    story.write_text("Title\n\nLONDON: Text.\n")
    assert run_once(settings, story) == 1
    assert "KAFKA_BOOTSTRAP_SERVERS is not set" in capsys.readouterr().err
    assert story.exists(), "the file was left where it was"


def test_backfills_and_replays_count_in_the_running_services_throughput(
    ingest_process: tuple[Settings, str], tmp_path: Path
) -> None:
    """Issue 25: the ingest throughput line stayed near 0 for `ingest --once` and `replay`."""
    settings, url = ingest_process
    first = _scrape(url)
    folder = tmp_path / "backfill"
    folder.mkdir()
    for prefix in ("001", "002", "003"):
        shutil.copy(_seed(prefix), folder / f"{prefix}.txt")
    (folder / "empty.txt").write_bytes(b"")
    # This test process is the one-shot command; the service process counts what it hands over.
    backfill(settings, folder)
    published = 'newsflow_ingest_articles_published_total{content_type="text"}'
    wait_for(lambda: _scrape(url)[published] == first[published] + 3, "the backfill's articles to be counted")
    counted = _scrape(url)
    assert counted['newsflow_ingest_files_rejected_total{reason="empty"}'] == 1
    assert counted["newsflow_ingest_files_seen_total"] == first["newsflow_ingest_files_seen_total"] + 4

    replayed = replay_archive(settings, settings.processed_dir)
    assert len(replayed) == 3
    wait_for(lambda: _scrape(url)[published] == first[published] + 6, "the replay's articles to be counted")
    assert not [p for p in handover_dir(settings.data_dir).iterdir() if not p.name.startswith(".")], "all taken"
    assert {event.origin for event in raw_events(settings)} == {"backfill", "replay"}


def test_a_file_stuck_in_a_hung_replicas_claim_folder_is_reported(ingest_process: tuple[Settings, str]) -> None:
    """A replica that hangs holding a file (its lock held, so nobody adopts it): the file is in no backlog."""
    settings, url = ingest_process
    claims = settings.data_dir / "ingest" / "claims"
    with (claims / "hung-replica.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        (claims / "hung-replica").mkdir()
        (claims / "hung-replica" / "story.txt").write_text("Storm closes port\n\nThe port closed on Monday.\n")
        wait_for(lambda: _scrape(url)["newsflow_ingest_claimed_files"] == 1, "the claimed file to be counted")
        assert _scrape(url)["newsflow_ingest_inbox_backlog_files"] == 0, "it has left the inbox"
        wait_for(lambda: _scrape(url)["newsflow_ingest_stuck_files"] == 1, "the file to be reported stuck")
        assert _scrape(url)["newsflow_ingest_oldest_claim_age_seconds"] > _STUCK_AFTER_SECONDS
    # The replica's lock is gone: the service adopts the file and publishes it.
    wait_for(lambda: _scrape(url)["newsflow_ingest_claimed_files"] == 0, "the orphan to be adopted and finished")
    assert _scrape(url)["newsflow_ingest_stuck_files"] == 0
    assert _scrape(url)["newsflow_ingest_oldest_claim_age_seconds"] == 0
