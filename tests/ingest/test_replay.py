"""`newsflow replay PATH`: archived files published again under their first identity (real broker)."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.ingest import processor
from services.ingest.archive import archived_files, read_sidecar, sidecar_path
from services.ingest.once import backfill
from services.ingest.replay import replay, replay_archive
from shared.config import Settings
from shared.events import RawArticle
from tests.conftest import SEEDS_DIR
from tests.ingest.support import raw_events

_DAY = datetime(2025, 2, 4, tzinfo=UTC)


@pytest.fixture
def one_day(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Archive every file under the same day folder, whenever the test runs (even across midnight)."""
    monkeypatch.setattr(processor, "processed_folder", lambda processed_dir: processed_dir / _DAY.strftime("%Y-%m-%d"))
    return Path(_DAY.strftime("%Y-%m-%d"))


def _drop_all(settings: Settings, tmp_path: Path, name: str, files: dict[str, bytes]) -> None:
    folder = tmp_path / name
    folder.mkdir()
    for relpath, data in files.items():
        (folder / relpath).write_bytes(data)
    assert backfill(settings, folder).exit_code == 0


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _content(event: RawArticle) -> dict[str, object]:
    """What a replay publishes again unchanged (it is published anew, as a replay)."""
    return event.model_dump(exclude={"ingested_at", "origin"})


def test_replay_republishes_the_same_articles_and_leaves_the_archive_alone(
    ingest_settings: Settings, tmp_path: Path, one_day: Path
) -> None:
    settings = ingest_settings
    (seed,) = SEEDS_DIR.glob("001_*.txt")
    feed = "\n".join(json.dumps({"title": f"Item {n}", "body": f"Body of item {n}."}) for n in range(3))
    _drop_all(
        settings,
        tmp_path,
        "first",
        {
            seed.name: seed.read_bytes(),
            "story.txt": b"Port reopens\n\nHAMBURG: The port reopened on Tuesday.\n",
            "feed.jsonl": feed.encode(),
            "seed.txt.gz": gzip.compress(seed.read_bytes()),
            # A dropped file whose name looks like a sidecar is still a file of its own.
            "notes.meta.json": json.dumps({"title": "Notes", "body": "Council notes on the port."}).encode(),
        },
    )
    # The same name again with other bytes, the same day: archived as story.1.txt.
    _drop_all(settings, tmp_path, "second", {"story.txt": b"Port closes again\n\nHAMBURG: It closed on Friday.\n"})
    archive = settings.processed_dir / one_day
    assert (archive / "story.1.txt").exists() and (archive / "story.1.txt.meta.json").exists()
    first = raw_events(settings)
    assert len(first) == 8
    before = _snapshot(settings.processed_dir)

    assert replay(settings, settings.processed_dir) == 0

    events = raw_events(settings)
    assert len(events) == 2 * len(first)
    by_id: dict[str, list[RawArticle]] = defaultdict(list)
    for event in events:
        by_id[event.article_id].append(event)
    assert set(by_id) == {e.article_id for e in first}, "no new identity"
    for article_id, pair in by_id.items():
        assert len(pair) == 2, article_id
        assert _content(pair[0]) == _content(pair[1]), pair[0].source_file
        assert [event.origin for event in pair] == ["backfill", "replay"], "timed apart from live drops"
    assert {e.source_file for e in events} == {seed.name, "story.txt", "feed.jsonl", "seed.txt.gz", "notes.meta.json"}
    assert _snapshot(settings.processed_dir) == before, "replay neither moves, deletes nor changes the archive"


def test_replaying_a_file_stored_under_a_numbered_suffix_keeps_its_original_identity(
    ingest_settings: Settings, tmp_path: Path, one_day: Path
) -> None:
    settings = ingest_settings
    _drop_all(settings, tmp_path, "first", {"story.txt": b"Port reopens\n\nHAMBURG: The port reopened on Tuesday.\n"})
    _drop_all(settings, tmp_path, "second", {"story.txt": b"Port closes again\n\nHAMBURG: It closed on Friday.\n"})
    suffixed = settings.processed_dir / one_day / "story.1.txt"
    (original,) = [e for e in raw_events(settings) if e.title == "Port closes again"]

    (outcome,) = replay_archive(settings, suffixed)

    assert (outcome.status, outcome.source_file, outcome.article_ids) == (
        "replayed",
        "story.txt",
        (original.article_id,),
    )
    (again,) = [
        e for e in raw_events(settings) if e.title == "Port closes again" and e.ingested_at > original.ingested_at
    ]
    assert _content(again) == _content(original)
    # Naming the sidecar instead of the file replays the file.
    (outcome,) = replay_archive(settings, sidecar_path(suffixed))
    assert (outcome.path, outcome.article_ids) == (suffixed, (original.article_id,))


def test_files_that_cannot_be_replayed_as_they_were_are_reported_not_published(
    ingest_settings: Settings, tmp_path: Path, one_day: Path
) -> None:
    settings = ingest_settings
    _drop_all(
        settings,
        tmp_path,
        "first",
        {
            "kept.txt": b"Port reopens\n\nHAMBURG: The port reopened on Tuesday.\n",
            "edited.txt": b"Bridge opens\n\nBERLIN: The bridge opened on Monday.\n",
        },
    )
    archive = settings.processed_dir / one_day
    (archive / "edited.txt").write_bytes(b"Bridge opens\n\nBERLIN: Someone edited the archived copy.\n")
    shutil.copy(archive / "kept.txt", archive / "copied in by hand.txt")
    published = len(raw_events(settings))

    outcomes = {o.path.name: o for o in replay_archive(settings, settings.processed_dir)}

    assert {name: (o.status, o.reason) for name, o in outcomes.items()} == {
        "kept.txt": ("replayed", None),
        "edited.txt": ("not_replayed", "changed"),
        "copied in by hand.txt": ("not_replayed", "no_sidecar"),
    }
    assert "Restore it from a backup" in str(outcomes["edited.txt"].message)
    assert "copy it into the inbox under its original name" in str(outcomes["copied in by hand.txt"].message)
    assert len(raw_events(settings)) == published + 1, "only the intact file was published again"
    assert replay(settings, archive) == 1, "the exit code says some were not replayed"


def test_the_archive_lists_files_with_their_sidecars(tmp_path: Path, ingest_settings: Settings, one_day: Path) -> None:
    settings = ingest_settings
    _drop_all(settings, tmp_path, "first", {"a.txt": b"Title A\n\nLONDON: Text of story A goes here.\n"})
    archive = settings.processed_dir / one_day
    (archive / ".newsflow-0123.partial").write_bytes(b"a copy interrupted by a crash")
    listed = archived_files(settings.processed_dir)
    assert [(item.path.name, item.record is not None) for item in listed] == [("a.txt", True)]
    record = read_sidecar(archive / "a.txt")
    assert record is not None and (record.source_file, record.articles, record.content_type) == ("a.txt", 1, "text")


def _cli_env(settings: Settings) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "NEWSFLOW_KAFKA_BOOTSTRAP_SERVERS")
    }
    return {**env, "NEWSFLOW_DATA_DIR": str(settings.data_dir)}


def test_newsflow_replay_finds_the_broker_of_the_running_pipeline(
    ingest_settings: Settings, tmp_path: Path, one_day: Path
) -> None:
    settings = ingest_settings
    _drop_all(settings, tmp_path, "first", {"a.txt": b"Title A\n\nLONDON: Text of story A goes here.\n"})
    (first,) = raw_events(settings)
    # What `newsflow run` writes; this test process stands in for the running supervisor.
    run_info = {"pid": os.getpid(), "kafka_bootstrap_servers": settings.require_kafka()}
    (settings.data_dir / "run.json").write_text(json.dumps(run_info))

    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "replay"],
        cwd=tmp_path,
        env=_cli_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert re.search(r"published again\s*│\s*1\s*│\s*1", done.stdout), done.stdout
    assert [e.article_id for e in raw_events(settings)] == [first.article_id, first.article_id]


def test_replay_without_a_broker_says_how_to_give_one(
    ingest_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    stopped = subprocess.Popen(["true"])
    stopped.wait()  # its pid stands for a `newsflow run` that has since stopped
    settings = ingest_settings.model_copy(update={"kafka_bootstrap_servers": None})
    settings.processed_dir.mkdir(parents=True)
    (settings.data_dir / "run.json").write_text(json.dumps({"pid": stopped.pid, "kafka_bootstrap_servers": "x:1"}))

    assert replay(settings, settings.processed_dir) == 1
    assert "set KAFKA_BOOTSTRAP_SERVERS" in capsys.readouterr().err
