"""Claiming files: an atomic rename into this replica's claim folder before a file is read.

Each replica owns ``claims/<replica>/`` and holds an exclusive ``flock`` on ``claims/<replica>.lock``
while it runs. Two replicas renaming the same inbox file race safely: exactly one rename
succeeds. When a replica dies, the kernel drops its lock; any other (or the restarted) replica
then takes the lock, adopts the files left in that folder, and ingests them again with the same
identity (republishing is harmless: ids derive from name and bytes).
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import IO, Final

from services.ingest.inbox import WORK_FILE_PREFIX

log = logging.getLogger(__name__)

_LOCK_SUFFIX = ".lock"
# Where replicas claim when the data dir cannot take a rename from the inbox (another mount).
CLAIMS_IN_INBOX: Final = f"{WORK_FILE_PREFIX}claims"


def can_rename_between(inbox: Path, claims_root: Path) -> bool:
    """Whether a file renames from ``inbox`` into ``claims_root``, found out by trying it.

    Comparing ``st_dev`` is not enough: two bind mounts of one filesystem share it, yet a
    rename between them fails with ``EXDEV``.
    """
    probe = inbox / f"{WORK_FILE_PREFIX}probe-{uuid.uuid4().hex}"
    landed = claims_root / probe.name
    try:
        probe.touch(exist_ok=False)
        os.rename(probe, landed)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise RuntimeError(
                f"ingest cannot move files from the inbox {inbox} to {claims_root} ({exc.strerror}); "
                "give the user it runs as write access to both folders."
            ) from exc
        return False
    finally:
        probe.unlink(missing_ok=True)
        landed.unlink(missing_ok=True)
    return True


class ClaimStore:
    """This replica's claim folder, and adoption of folders left by dead replicas."""

    def __init__(self, root: Path, replica_id: str) -> None:
        self.root = root
        self.replica_id = replica_id
        root.mkdir(parents=True, exist_ok=True)
        self._lock: IO[str] | None = _try_lock(root / f"{replica_id}{_LOCK_SUFFIX}")
        if self._lock is None:
            raise RuntimeError(f"claim folder {root / replica_id} is held by another running replica")
        self.dir = root / replica_id
        self.dir.mkdir(exist_ok=True)

    def claim(self, source: Path, relpath: str) -> Path | None:
        """Move ``source`` into the claim folder; None when another replica took it first."""
        target = self.dir / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(source, target)
        except FileNotFoundError:
            return None
        return target

    def path_of(self, relpath: str) -> Path:
        return self.dir / relpath

    def pending(self) -> list[str]:
        """Relative paths of the files this replica holds, oldest first."""
        files = [p for p in self.dir.rglob("*") if p.is_file() or p.is_symlink()]
        files.sort(key=lambda p: p.lstat().st_mtime_ns)
        return [p.relative_to(self.dir).as_posix() for p in files]

    def forget(self, relpath: str) -> None:
        """Remove empty sub-folders left after ``relpath`` moved on."""
        parent = (self.dir / relpath).parent
        while parent != self.dir and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent

    def adopt_orphans(self) -> list[str]:
        """Take over the files of every replica that no longer holds its lock."""
        adopted: list[str] = []
        for lock_path in sorted(self.root.glob(f"*{_LOCK_SUFFIX}")):
            other = lock_path.name[: -len(_LOCK_SUFFIX)]
            if other == self.replica_id:
                continue
            handle = _try_lock(lock_path)
            if handle is None:
                continue  # that replica is alive
            try:
                folder = self.root / other
                adopted += self._adopt(folder)
                if not any(p.is_file() or p.is_symlink() for p in folder.rglob("*")):
                    shutil.rmtree(folder, ignore_errors=True)
                    lock_path.unlink(missing_ok=True)
            finally:
                handle.close()
        if adopted:
            log.warning("adopted files claimed by a stopped replica", extra={"files": len(adopted)})
        return adopted

    def _adopt(self, folder: Path) -> list[str]:
        moved: list[str] = []
        if not folder.is_dir():
            return moved
        for path in sorted(folder.rglob("*")):
            if path.is_dir() and not path.is_symlink():
                continue
            relpath = path.relative_to(folder).as_posix()
            target = self.dir / relpath
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists() or target.is_symlink():
                # The same name is being ingested here right now: adopt this one on a later round.
                log.warning("file of the same name in progress; adopting later", extra={"source_file": relpath})
                continue
            os.rename(path, target)
            moved.append(relpath)
        return moved

    def close(self) -> None:
        """Release the lock; an empty claim folder is removed with it."""
        if self._lock is None:
            return
        if not any(self.dir.rglob("*")):
            self.dir.rmdir()
            (self.root / f"{self.replica_id}{_LOCK_SUFFIX}").unlink(missing_ok=True)
        self._lock.close()
        self._lock = None


def _try_lock(path: Path) -> IO[str] | None:
    handle = path.open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle
