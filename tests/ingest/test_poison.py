"""Inputs that once stopped all ingest (issue 19), against a real broker: each one is published or
rejected with a reason, files dropped after it still flow, and nothing is published twice.

The reproductions are the issue's: a 251-byte name, a name that is not UTF-8, JSON holding a lone
surrogate, a hard link, and an unexpected error inside one file's handling. A file that makes the
process die each time is set aside in ``quarantine/`` after ``MAX_ATTEMPTS``, never adopted forever.
"""

from __future__ import annotations

import gzip
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.ingest import metrics, processor
from services.ingest.archive import read_sidecar
from services.ingest.inbox import Candidate
from services.ingest.parsing.errors import Rejection
from services.ingest.parsing.gz import MAX_MEMBERS, gunzip_limited
from services.ingest.processor import MAX_ATTEMPTS, FileProcessor
from services.ingest.service import IngestService
from services.ingest.settle import SettleTracker
from services.ingest.watcher import WriteActivity
from shared.config import Settings
from shared.events import RawArticle
from tests.ingest.support import dead_letters, drop, raw_events, start

ARTICLE = b"T\n\nThe mayor said the plan passed.\n"
# What the issue allows for each input: stored or rejected with a reason within this long.
HANDLED_WITHIN_SECONDS = 10.0


@pytest.fixture
def running(ingest_settings: Settings) -> Iterator[tuple[Settings, threading.Thread]]:
    service, thread, stop = start(ingest_settings)
    # Files written from here on are seen being written (inotify), as in a running service.
    _wait(lambda: service.activity.available, "the inbox watcher to start")
    yield ingest_settings, thread
    stop.set()
    thread.join(timeout=5)


def _write(inbox: Path, name: str | bytes, data: bytes) -> None:
    """Write in place, as the issue's one-liners do (``open(name, 'w').write(...)``): such a file waits
    for the append grace (5 s) before it is read; the files dropped after them are renamed in."""
    path = os.path.join(os.fsencode(inbox), name if isinstance(name, bytes) else os.fsencode(name))
    with open(path, "wb") as handle:
        handle.write(data)


def _wait(condition: object, what: str, seconds: float = HANDLED_WITHIN_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s: {what}")


def _all_handled(settings: Settings) -> bool:
    """Nothing waits in the inbox and nothing is claimed (claimed files are still being handled)."""
    claims = settings.data_dir / "ingest" / "claims"
    claimed = [p for p in claims.glob("*/**/*") if p.is_file() or p.is_symlink()]
    return not any(settings.inbox.iterdir()) and not claimed


def _by_source(settings: Settings) -> dict[str, list[RawArticle]]:
    found: dict[str, list[RawArticle]] = {}
    for event in raw_events(settings):
        found.setdefault(event.source_file, []).append(event)
    return found


def _reason_files(folder: Path) -> dict[str, dict[str, object]]:
    """Reason files under ``folder`` by the original name they give."""
    return {
        str(record["file"]): record
        for record in (json.loads(p.read_text()) for p in folder.rglob("*.error.json"))
        if isinstance(record, dict)
    }


def test_long_names_are_archived_under_a_stored_name_and_keep_their_own(
    running: tuple[Settings, threading.Thread],
) -> None:
    settings, thread = running
    long_name = "L" * 251 + ".txt"  # 255 bytes: no room for ".meta.json" or ".1"
    long_empty = "E" * 246 + ".txt"
    _write(settings.inbox, long_name, ARTICLE)
    _write(settings.inbox, long_empty, b"")
    _wait(lambda: _all_handled(settings), "both long names handled")
    drop(settings.inbox / "after.txt", ARTICLE)
    _wait(lambda: "after.txt" in _by_source(settings), "a later file to flow")

    published = _by_source(settings)
    assert len(published[long_name]) == 1, "published once, under its own name"
    (archived,) = [p for p in settings.processed_dir.rglob("L*") if not p.name.endswith(".meta.json")]
    assert len(archived.name.encode()) < 255 - len(".meta.json")
    record = read_sidecar(archived)
    assert record is not None and record.source_file == long_name, "the sidecar keeps the original name"
    assert record.sha256 == published[long_name][0].sha256
    reasons = _reason_files(settings.rejected_dir)
    assert reasons[long_empty]["reason"] == "empty"
    stored = settings.rejected_dir / str(reasons[long_empty]["stored_name"])
    assert stored.read_bytes() == b"", "the rejected file is kept beside its reason"
    assert not list(settings.data_dir.rglob("*.1.txt")), "no numbered copies from failed moves"
    assert thread.is_alive()


def test_a_name_that_is_not_utf8_is_published_under_a_readable_one(
    running: tuple[Settings, threading.Thread],
) -> None:
    settings, thread = running
    _write(settings.inbox, b"bad-\xff\xfe.txt", b"T\n\nThe mayor said.\n")
    _wait(lambda: "bad-\\xff\\xfe.txt" in _by_source(settings), "the file to be published")
    (event,) = _by_source(settings)["bad-\\xff\\xfe.txt"]
    assert event.body == "The mayor said."
    (archived,) = [p for p in settings.processed_dir.rglob("bad-*") if not p.name.endswith(".meta.json")]
    assert archived.name.encode("utf-8"), "archived under a name that is valid UTF-8"
    record = read_sidecar(archived)
    assert record is not None and record.source_file == "bad-\\xff\\xfe.txt"
    assert thread.is_alive()


def test_json_with_a_lone_surrogate_is_rejected_with_a_reason(running: tuple[Settings, threading.Thread]) -> None:
    settings, thread = running
    _write(settings.inbox, "surrogate.json", b'{"title":"S","body":"x \\udc00 y"}')
    lines = [
        json.dumps({"title": "Good", "body": "A good record."}),
        '{"title":"Bad","body":"x \\ud800 y"}',
        json.dumps({"title": "Also good", "body": "Another good record."}),
    ]
    _write(settings.inbox, "mixed.jsonl", "\n".join(lines).encode())
    _wait(lambda: _all_handled(settings), "both files handled")
    reason = _reason_files(settings.rejected_dir)["surrogate.json"]
    assert reason["reason"] == "invalid_text"
    assert "\\udc00" in str(reason["message"]) and "body" in str(reason["message"])
    published = _by_source(settings)
    assert "surrogate.json" not in published
    assert sorted(e.title or "" for e in published["mixed.jsonl"]) == ["Also good", "Good"]
    (bad_line,) = [d for d in dead_letters(settings) if d.source_file == "mixed.jsonl"]
    assert (bad_line.reason, bad_line.line) == ("invalid_text", 2)
    assert thread.is_alive()


def test_a_hard_link_is_refused_unless_allowed(ingest_settings: Settings, tmp_path: Path) -> None:
    secret = tmp_path / "elsewhere" / "payroll.txt"
    secret.parent.mkdir()
    secret.write_bytes(b"Payroll\n\nTOP SECRET figures.\n")
    secret.chmod(0o600)
    os.link(secret, ingest_settings.inbox / "linked.txt")
    _, thread, stop = start(ingest_settings)
    try:
        _wait(lambda: (ingest_settings.rejected_dir / "linked.txt.error.json").exists(), "the link to be refused")
    finally:
        stop.set()
        thread.join(timeout=5)
    reason = json.loads((ingest_settings.rejected_dir / "linked.txt.error.json").read_text())
    assert reason["reason"] == "hard_link" and "NEWSFLOW_ALLOW_HARD_LINKS" in reason["message"]
    assert raw_events(ingest_settings) == []
    assert secret.read_bytes() == b"Payroll\n\nTOP SECRET figures.\n", "the other name is left alone"

    allowing = ingest_settings.model_copy(update={"allow_hard_links": True})
    os.link(secret, allowing.inbox / "linked-on-purpose.txt")
    _, thread, stop = start(allowing)
    try:
        _wait(lambda: "linked-on-purpose.txt" in _by_source(allowing), "the allowed link to be published")
    finally:
        stop.set()
        thread.join(timeout=5)


def test_an_unexpected_error_on_one_file_rejects_it_and_the_others_flow(
    ingest_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_events = processor.raw_articles

    def events_with_a_bug(parsed: object, *, source_file: str, **kwargs: object) -> object:
        if source_file == "trigger.txt":
            raise KeyError("a bug in building events")
        return real_events(parsed, source_file=source_file, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(processor, "raw_articles", events_with_a_bug)
    # The bug raised while rejecting, too: moving into rejected/ fails for this one file.
    real_reject = FileProcessor._move_rejected

    def move_fails_for(self: FileProcessor, relpath: str, *args: object) -> None:
        if relpath == "stuck.txt":
            raise OSError(36, "File name too long")
        real_reject(self, relpath, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(FileProcessor, "_move_rejected", move_fails_for)
    settings = ingest_settings
    _, thread, stop = start(settings)
    try:
        for number in range(3):
            drop(settings.inbox / f"before-{number}.txt", ARTICLE)
        _write(settings.inbox, "trigger.txt", ARTICLE)
        _write(settings.inbox, "stuck.txt", b"")
        for number in range(3):
            drop(settings.inbox / f"after-{number}.txt", ARTICLE)
        _wait(lambda: len(_by_source(settings)) == 6, "the six good files")
        _wait(lambda: (settings.rejected_dir / "trigger.txt.error.json").exists(), "the bad file to be rejected")
        _wait(lambda: metrics.FILES_QUARANTINED._value.get() >= 1, "the unmovable file to be counted")
        drop(settings.inbox / "later.txt", ARTICLE)
        _wait(lambda: "later.txt" in _by_source(settings), "a file dropped after them")
        assert thread.is_alive(), "the service never stopped"
    finally:
        stop.set()
        thread.join(timeout=5)
    reason = json.loads((settings.rejected_dir / "trigger.txt.error.json").read_text())
    assert reason["reason"] == "internal_error" and "KeyError" in reason["message"]
    published = _by_source(settings)
    assert all(len(events) == 1 for events in published.values()), "nothing published twice"
    letters = [d for d in dead_letters(settings) if d.source_file == "stuck.txt"]
    assert len(letters) <= MAX_ATTEMPTS + 1


def test_a_file_that_kills_the_process_is_quarantined_not_adopted_forever(
    ingest_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = ingest_settings
    real_parse = processor.parse_file

    def parse_that_kills(name: str, data: bytes, *, max_bytes: int) -> object:
        if name == "killer.txt":
            raise SystemExit("the process died on this file (a segfault in a C parser, an OOM kill)")
        return real_parse(name, data, max_bytes=max_bytes)

    monkeypatch.setattr(processor, "parse_file", parse_that_kills)
    _write(settings.inbox, "earlier.txt", ARTICLE)
    _write(settings.inbox, "killer.txt", ARTICLE)
    time.sleep(settings.file_settle_seconds + 0.2)
    deaths = 0
    for _ in range(MAX_ATTEMPTS + 1):
        service = IngestService(settings, threading.Event())
        try:
            deadline = time.monotonic() + HANDLED_WITHIN_SECONDS
            while time.monotonic() < deadline and not service.run_cycle():
                time.sleep(0.1)
        except SystemExit:
            deaths += 1
        finally:
            # As a dead process would: its claim lock is gone, the file still sits in its claim folder.
            service.producer.close(timeout=1)
            assert service.claims._lock is not None
            service.claims._lock.close()
            service.claims._lock = None
            service.ledger.close()
    assert deaths == MAX_ATTEMPTS

    drop(settings.inbox / "later.txt", ARTICLE)
    _, thread, stop = start(settings)
    try:
        _wait(lambda: "later.txt" in _by_source(settings), "later files to flow")
        _wait(lambda: metrics.FILES_QUARANTINED._value.get() == 1, "the quarantined file to be counted")
    finally:
        stop.set()
        thread.join(timeout=5)
    reason = json.loads((settings.quarantine_dir / "killer.txt.error.json").read_text())
    assert reason["reason"] == "quarantined" and reason["attempts"] == MAX_ATTEMPTS
    assert (settings.quarantine_dir / "killer.txt").read_bytes() == ARTICLE
    assert not list((settings.data_dir / "ingest" / "claims").rglob("*.txt"))
    published = _by_source(settings)
    assert sorted(published) == ["earlier.txt", "later.txt"]
    assert all(len(events) == 1 for events in published.values()), "nothing published twice across the deaths"
    assert [d.reason for d in dead_letters(settings) if d.source_file == "killer.txt"] == ["quarantined"]


def test_a_gzip_of_many_members_is_refused_quickly_with_a_reason(running: tuple[Settings, threading.Thread]) -> None:
    settings, thread = running
    member = gzip.compress(b"a")
    _write(settings.inbox, "members.txt.gz", member * 200_000)  # the 4.2 MB file
    drop(settings.inbox / "one-member.txt.gz", gzip.compress(ARTICLE))
    _wait(lambda: (settings.rejected_dir / "members.txt.gz.error.json").exists(), "the many-member file refused")
    reason = json.loads((settings.rejected_dir / "members.txt.gz.error.json").read_text())
    assert reason["reason"] == "too_many_members" and "1,000" in reason["message"]
    _wait(lambda: "one-member.txt.gz" in _by_source(settings), "a normal .gz to flow")
    assert thread.is_alive()


def test_concatenated_members_up_to_the_limit_inflate_to_all_their_bytes() -> None:
    parts = [f"line {n}\n".encode() for n in range(MAX_MEMBERS)]
    joined = b"".join(gzip.compress(part) for part in parts) + b"\0" * 16
    assert gunzip_limited(joined, 10_000_000) == b"".join(parts)
    with pytest.raises(Rejection) as refused:
        gunzip_limited(joined + gzip.compress(b"one more"), 10_000_000)
    assert refused.value.reason == "too_many_members"
    with pytest.raises(Rejection) as truncated:
        gunzip_limited(gzip.compress(os.urandom(200_000))[:-9], 10_000_000)
    assert truncated.value.reason == "corrupt_gzip"


APPENDED_PARTS = (b"Council vote\n\n", b"The council met on Monday. ", b"The plan passed by nine votes to two.\n")


def test_a_writer_that_reopens_the_file_to_append_makes_one_article(
    running: tuple[Settings, threading.Thread],
) -> None:
    settings, thread = running
    path = settings.inbox / "appended.txt"
    for number, part in enumerate(APPENDED_PARTS):
        if number:
            time.sleep(3.0)  # the writer: closed between writes, 3 s apart
        with path.open("ab") as handle:
            handle.write(part)
    _wait(lambda: "appended.txt" in _by_source(settings), "the appended file to be published")
    time.sleep(1.0)  # anything published in pieces would show now
    (event,) = _by_source(settings)["appended.txt"]
    assert event.title == "Council vote"
    assert event.body == "The council met on Monday. The plan passed by nine votes to two."
    assert thread.is_alive()


def test_only_files_written_in_place_wait_for_the_append_grace() -> None:
    now = [0.0]
    activity = WriteActivity()
    tracker = SettleTracker(0.5, lambda: now[0], append_grace_seconds=5.0, activity=activity)
    moved = Candidate("moved.txt", Path("/nonexistent/moved.txt"), "file", 10, 1)
    written = Candidate("written.txt", Path("/nonexistent/written.txt"), "file", 10, 1)
    unknown = Candidate("unknown.txt", Path("/nonexistent/unknown.txt"), "file", 10, 1)
    activity.moved_in("moved.txt")
    activity.written("written.txt")
    assert tracker.ready([moved, written, unknown]) == []
    now[0] = 0.6
    assert [c.relpath for c in tracker.ready([moved, written, unknown])] == ["moved.txt", "unknown.txt"]
    tracker.forget("moved.txt")  # claimed
    tracker.forget("unknown.txt")
    assert tracker.seconds_until_due() == pytest.approx(4.4)
    now[0] = 5.1
    assert [c.relpath for c in tracker.ready([written])] == ["written.txt"]


def test_a_link_whose_target_is_not_utf8_is_rejected_with_a_reason(
    running: tuple[Settings, threading.Thread],
) -> None:
    """Found by the fuzz test: the link's target, quoted in the reason, once failed the dead letter."""
    settings, thread = running
    inbox = os.fsencode(settings.inbox)
    os.symlink(os.path.join(inbox, b"gone-\xff.txt"), os.path.join(inbox, b"link-\xfe.txt"))
    _wait(lambda: "link-\\xfe.txt" in _reason_files(settings.rejected_dir), "the link's reason file")
    _wait(lambda: _all_handled(settings), "the link to be handled")
    reason = _reason_files(settings.rejected_dir)["link-\\xfe.txt"]
    assert reason["reason"] == "symlink" and "gone-\\xff.txt" in str(reason["message"])
    assert not settings.quarantine_dir.exists() or not any(settings.quarantine_dir.iterdir())
    assert thread.is_alive()
