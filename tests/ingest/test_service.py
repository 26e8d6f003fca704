"""The ingest service against a real Tansu broker: real files in, events read back from the topics."""

from __future__ import annotations

import gzip
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.ingest.processor import FileProcessor
from services.ingest.service import IngestService
from shared.config import Settings
from shared.events import RawArticle
from tests.conftest import SEEDS_DIR
from tests.ingest.support import dead_letters as _dead
from tests.ingest.support import drop as _drop
from tests.ingest.support import inbox_empty as _inbox_empty
from tests.ingest.support import raw_events as _raw
from tests.ingest.support import start as _start
from tests.ingest.support import wait_for as _wait_for


@pytest.fixture
def running(ingest_settings: Settings) -> Iterator[Settings]:
    _, thread, stop = _start(ingest_settings)
    yield ingest_settings
    stop.set()
    thread.join(timeout=2.5)
    assert not thread.is_alive(), "ingest stops within about 2 s"


def test_real_world_files_dropped_together(running: Settings) -> None:
    settings = running
    inbox = settings.inbox
    seed_001 = next(SEEDS_DIR.glob("001_*.txt")).read_bytes()
    article = "Café talks resume\n\nPARIS: Owners said “enough” on Monday and closed early.\n"
    for seed in sorted(SEEDS_DIR.glob("*.txt")):
        _drop(inbox / seed.name, seed.read_bytes())
    _drop(inbox / "western.txt", article.encode("cp1252"))
    _drop(inbox / "wide.txt", article.encode("utf-16"))
    _drop(inbox / "bom crlf.txt", b"\xef\xbb\xbf" + article.replace("\n", "\r\n").encode())
    _drop(inbox / "خبر عاجل report.txt", article.encode())
    _drop(inbox / "page.html", _html_of_seed_001().encode())
    _drop(inbox / "seed.txt.gz", gzip.compress(seed_001))
    feed = [json.dumps({"title": f"Item {i}", "body": f"Body of item {i}."}) for i in range(3)]
    _drop(inbox / "feed.jsonl", "\n".join([feed[0], "{broken", feed[1], feed[2]]).encode())
    _drop(inbox / "twice.txt", article.encode())
    (inbox / "passwd.txt").symlink_to("/etc/passwd")
    for name, data in {
        "empty.txt": b"",
        "blank.txt": b" \n \n",
        "binary.txt": bytes(range(256)) * 16,
        "image.png": b"\x89PNG\r\n\x1a\n" + os.urandom(512),
        "broken.json": b'{"title": ',
        "huge.txt": b"a" * (12 * 1024 * 1024),
    }.items():
        _drop(inbox / name, data)
    slow_writer = threading.Thread(target=_write_slowly, args=(inbox / "slow.txt", seed_001))
    slow_writer.start()
    slow_writer.join()

    _wait_for(lambda: _inbox_empty(settings), "the inbox to empty")
    _drop(inbox / "twice.txt", article.encode())  # the same file again
    _wait_for(lambda: _inbox_empty(settings), "the second drop to be taken")
    _wait_for(lambda: len(_raw(settings)) >= 17, "17 raw events")

    events = _raw(settings)
    by_file: dict[str, list[RawArticle]] = {}
    for event in events:
        by_file.setdefault(event.source_file, []).append(event)
    expected_files = {p.name for p in SEEDS_DIR.glob("*.txt")} | {
        "western.txt", "wide.txt", "bom crlf.txt", "خبر عاجل report.txt", "page.html", "seed.txt.gz",
        "feed.jsonl", "twice.txt", "slow.txt",
    }  # fmt: skip
    assert set(by_file) == expected_files
    assert len(by_file["feed.jsonl"]) == 3 and {e.part for e in by_file["feed.jsonl"]} == {0, 2, 3}
    assert len(by_file["twice.txt"]) == 2 and len({e.article_id for e in by_file["twice.txt"]}) == 1
    for name in expected_files - {"feed.jsonl", "twice.txt"}:
        assert len(by_file[name]) == 1, name
    for name in ("western.txt", "wide.txt", "bom crlf.txt", "خبر عاجل report.txt"):
        (event,) = by_file[name]
        assert event.title == "Café talks resume" and event.body == "Owners said “enough” on Monday and closed early."
    for name in ("page.html", "seed.txt.gz", "slow.txt"):
        (event,) = by_file[name]
        assert event.title == "Asif rules out possibility of pressure from US for Imran Khan's release", name
        assert str(event.published_at) == "2025-02-04", name
    assert by_file["slow.txt"][0].size_bytes == len(seed_001), "read only once completely written"

    rejected = settings.rejected_dir
    expected_reasons = {
        "empty.txt": "empty",
        "blank.txt": "blank",
        "binary.txt": "binary",
        "image.png": "unsupported_type",
        "broken.json": "invalid_json",
        "huge.txt": "too_large",
        "passwd.txt": "symlink_outside_inbox",
    }
    for name, reason in expected_reasons.items():
        assert (rejected / name).exists() or (rejected / name).is_symlink(), name
        assert json.loads((rejected / f"{name}.error.json").read_text())["reason"] == reason, name
    letters = _dead(settings)
    assert {(d.source_file, d.reason) for d in letters if d.line is None} >= set(expected_reasons.items())
    (bad_line,) = [d for d in letters if d.line is not None]
    assert (bad_line.source_file, bad_line.line, bad_line.payload) == ("feed.jsonl", 2, "{broken")
    assert len(list(settings.processed_dir.rglob("*.txt"))) >= 10


def _write_slowly(path: Path, data: bytes) -> None:
    # Pauses longer than the settle time: only the open-for-writing check keeps it from being read.
    pieces = [data[i : i + len(data) // 4 + 1] for i in range(0, len(data), len(data) // 4 + 1)]
    with path.open("wb") as handle:
        for piece in pieces:
            handle.write(piece)
            handle.flush()
            time.sleep(0.6)


def _html_of_seed_001() -> str:
    return (
        "<html><head><title>Asif rules out possibility of pressure from US for Imran Khan’s release</title>"
        '<meta property="article:published_time" content="2025-02-04"></head><body><nav>Home | World</nav>'
        "<article><h1>Asif rules out possibility of pressure from US for Imran Khan’s release</h1>"
        "<p>Defence Minister Khawaja Asif has firmly dismissed any possibility of external pressure from the "
        "United States regarding the release of former Prime Minister Imran Khan, who is currently incarcerated.</p>"
        "<p>Asif’s comments were in response to growing speculation that the new administration under President "
        "Donald Trump might intervene in favor of Khan’s release.</p></article><footer>Scroll to Top</footer>"
        "</body></html>"
    )


def test_crash_between_ack_and_move_finishes_without_publishing_again(
    ingest_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = ingest_settings
    seed = next(SEEDS_DIR.glob("002_*.txt"))
    _drop(settings.inbox / seed.name, seed.read_bytes())

    def crash(self: FileProcessor, *args: object) -> None:
        raise SystemExit("killed after the broker's acknowledgement, before the move")

    monkeypatch.setattr(FileProcessor, "_dispose_published", crash)
    stop = threading.Event()
    first = IngestService(settings, stop)
    with pytest.raises(SystemExit):
        first.run()
    # The process is gone: its claim lock is released, the file still sits in its claim folder.
    first.producer.close(timeout=1)
    assert first.claims._lock is not None
    first.claims._lock.close()
    assert first.claims.pending() == [seed.name]
    monkeypatch.undo()

    _, thread, stop = _start(settings)
    try:
        _wait_for(lambda: any(settings.processed_dir.rglob(seed.name)), "the restarted replica to finish the file")
    finally:
        stop.set()
        thread.join(timeout=5)
    events = _raw(settings)
    assert len(events) == 1, "acknowledged before the crash: the restart moves it without publishing it again"
    assert not list((settings.data_dir / "ingest" / "claims").rglob("*.txt"))
    assert (settings.processed_dir / next(settings.processed_dir.iterdir()).name / f"{seed.name}.meta.json").exists()


def test_two_replicas_share_one_inbox_and_publish_each_file_once(ingest_settings: Settings) -> None:
    settings = ingest_settings
    replicas = [_start(settings) for _ in range(2)]
    try:
        for number in range(500):
            body = f"Story {number}\n\nLONDON: Report number {number} says something new happened today.\n"
            _drop(settings.inbox / f"story-{number:03d}.txt", body.encode())
        _wait_for(lambda: _inbox_empty(settings), "both replicas to drain the inbox")
        _wait_for(lambda: len(list(settings.processed_dir.rglob("*.txt"))) == 500, "500 processed files")
    finally:
        for _, _, stop in replicas:
            stop.set()
        for _, thread, _ in replicas:
            thread.join(timeout=5)
    events = _raw(settings)
    assert len(events) == 500
    assert len({e.source_file for e in events}) == 500
