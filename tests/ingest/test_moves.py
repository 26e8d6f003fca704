"""Moving files between folders that may sit on different mounts (EXDEV), never overwriting.

Two bind mounts of one disk share ``st_dev`` yet refuse renames and links between them with
``EXDEV``; that filesystem behaviour is simulated by patching ``os.rename``/``os.link`` for
paths under different "mount" roots. Everything else is real: files, links, the broker.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from services.ingest import disposition
from services.ingest.archive import read_sidecar
from services.ingest.claims import CLAIMS_IN_INBOX, can_rename_between
from services.ingest.disposition import move_to
from shared.config import Settings
from tests.ingest.support import drop, raw_events, start, wait_for


class Mounts:
    """Pretends each root folder is a separate mount: renames and links between them fail."""

    def __init__(self, *roots: Path) -> None:
        self.roots = [root.absolute() for root in roots]
        self.refused: list[tuple[str, str, str]] = []

    def mount_of(self, path: Any) -> Path | None:
        absolute = Path(os.path.abspath(os.fspath(path)))
        return next((root for root in self.roots if root == absolute or root in absolute.parents), None)

    def guard(self, name: str, real: Callable[..., None]) -> Callable[..., None]:
        def checked(source: Any, target: Any, *args: Any, **kwargs: Any) -> None:
            if self.mount_of(source) != self.mount_of(target):
                self.refused.append((name, os.fspath(source), os.fspath(target)))
                raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), os.fspath(source), None, os.fspath(target))
            real(source, target, *args, **kwargs)

        return checked


@pytest.fixture
def separate_mounts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mounts]:
    """``tmp_path/a``, ``tmp_path/b``, ``tmp_path/inbox`` and ``tmp_path/data`` as four mounts."""
    mounts = Mounts(*(tmp_path / name for name in ("a", "b", "inbox", "data")))
    for root in mounts.roots:
        root.mkdir(exist_ok=True)
    monkeypatch.setattr(os, "rename", mounts.guard("rename", os.rename))
    monkeypatch.setattr(os, "link", mounts.guard("link", os.link))
    yield mounts


def test_move_across_mounts_copies_keeps_bytes_and_mtime_and_removes_the_source(separate_mounts: Mounts) -> None:
    source_dir, target_dir = separate_mounts.roots[:2]
    source = source_dir / "report one.txt"
    source.write_bytes(b"PARIS: text \xe2\x80\x94 with bytes kept exactly.\n")
    os.utime(source, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    seen_at_describe: list[tuple[bool, bytes]] = []

    def describe(target: Path) -> None:
        seen_at_describe.append((source.exists(), target.read_bytes()))

    target = move_to(source, target_dir, "sub/report one.txt", describe=describe)

    assert target == target_dir / "sub" / "report one.txt"
    assert target.read_bytes() == b"PARIS: text \xe2\x80\x94 with bytes kept exactly.\n"
    assert target.stat().st_mtime_ns == 1_700_000_000_000_000_000
    assert not source.exists()
    assert seen_at_describe == [(True, target.read_bytes())], "described while the source still existed"
    assert [entry.name for entry in target.parent.iterdir()] == ["report one.txt"], "no temporary copy left"
    assert any(name == "link" for name, _, _ in separate_mounts.refused), "the cross-mount path was taken"


def test_move_across_mounts_never_overwrites_a_taken_name(separate_mounts: Mounts) -> None:
    source_dir, target_dir = separate_mounts.roots[:2]
    (target_dir / "story.txt").write_text("the first story")
    source = source_dir / "story.txt"
    source.write_text("the second story")

    target = move_to(source, target_dir, "story.txt")

    assert target.name == "story.1.txt" and target.read_text() == "the second story"
    assert (target_dir / "story.txt").read_text() == "the first story"


def test_a_symlink_moved_across_mounts_stays_a_link_and_is_never_followed(separate_mounts: Mounts) -> None:
    source_dir, target_dir = separate_mounts.roots[:2]
    link = source_dir / "passwd.txt"
    link.symlink_to("/etc/passwd")

    target = move_to(link, target_dir, "passwd.txt")

    assert target.is_symlink() and os.readlink(target) == "/etc/passwd"
    assert not link.is_symlink()


def test_rename_across_mounts_is_refused_and_the_probe_leaves_nothing(separate_mounts: Mounts) -> None:
    inbox, data = separate_mounts.roots[2:]
    claims = data / "claims"
    claims.mkdir()
    same_mount_claims = inbox / "claims-here"
    same_mount_claims.mkdir()

    assert can_rename_between(inbox, claims) is False
    assert can_rename_between(inbox, same_mount_claims) is True
    assert sorted(p.name for p in inbox.iterdir()) == ["claims-here"]
    assert not any(claims.iterdir()) and not any(same_mount_claims.iterdir())


def test_a_name_taken_between_check_and_link_is_not_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "processed"
    source = tmp_path / "story.txt"
    source.write_text("ours")
    real_free_name = disposition.free_name
    raced: list[Path] = []

    def free_name_then_another_replica_takes_it(target: Path) -> Path:
        name = real_free_name(target)
        if not raced:
            name.write_text("another replica's file")  # lands right after our check
            raced.append(name)
        return name

    monkeypatch.setattr(disposition, "free_name", free_name_then_another_replica_takes_it)
    target = move_to(source, folder, "story.txt")

    assert raced == [folder / "story.txt"]
    assert (folder / "story.txt").read_text() == "another replica's file"
    assert target == folder / "story.1.txt" and target.read_text() == "ours"
    assert not source.exists()


def test_without_hard_links_a_move_falls_back_to_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(*_args: Any, **_kwargs: Any) -> None:
        raise OSError(errno.EPERM, "hard links refused (fs.protected_hardlinks or the filesystem)")

    monkeypatch.setattr(os, "link", no_links)
    source = tmp_path / "story.txt"
    source.write_text("text")
    target = move_to(source, tmp_path / "out", "story.txt")
    assert target.read_text() == "text" and not source.exists()


def test_ingest_on_separate_mounts_claims_in_the_inbox_and_copies_out(
    separate_mounts: Mounts, tmp_path: Path, kafka_bootstrap: str
) -> None:
    settings = Settings(
        kafka_bootstrap_servers=kafka_bootstrap,
        data_dir=tmp_path / "data",
        inbox=tmp_path / "inbox",
        file_settle_seconds=0.2,
        inbox_poll_interval_seconds=0.5,
    )
    service, thread, stop = start(settings)
    try:
        assert service.claims.root == settings.inbox / CLAIMS_IN_INBOX
        drop(settings.inbox / "story.txt", b"Storm closes port\n\nHAMBURG: The port closed on Monday.\n")
        drop(settings.inbox / "empty.txt", b"")
        wait_for(lambda: any(settings.processed_dir.rglob("story.txt")), "the published file to be archived")
        wait_for(lambda: (settings.rejected_dir / "empty.txt.error.json").exists(), "the rejection")
    finally:
        stop.set()
        thread.join(timeout=5)

    (archived,) = settings.processed_dir.rglob("story.txt")
    assert archived.read_bytes() == b"Storm closes port\n\nHAMBURG: The port closed on Monday.\n"
    record = read_sidecar(archived)
    assert record is not None and record.source_file == "story.txt"
    assert json.loads((settings.rejected_dir / "empty.txt.error.json").read_text())["reason"] == "empty"
    assert (settings.rejected_dir / "empty.txt").read_bytes() == b""
    (event,) = raw_events(settings)
    assert (event.source_file, event.title) == ("story.txt", "Storm closes port")
    # Only the (empty) claim folder is left in the inbox; the files went out by copy.
    assert [p.name for p in settings.inbox.iterdir()] == [CLAIMS_IN_INBOX]
    assert not any(p.is_file() for p in (settings.inbox / CLAIMS_IN_INBOX).rglob("*"))
    assert any(name == "link" and "processed" in target for name, _, target in separate_mounts.refused)
