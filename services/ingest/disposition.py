"""Where a file goes after it was handled: processed/YYYY-MM-DD/ (or deleted, or kept), or rejected/.

Nothing is overwritten: a name already taken gets a numbered suffix, and the file is put in place
with a hard link, which fails rather than replaces, so two replicas moving files of the same name
at the same moment both keep theirs. The file's description (its archive sidecar or reason file)
is written *before* the source is removed: a crash in between leaves the file claimed, to be
handled again, never moved away undescribed.

Across filesystems (``EXDEV``: two bind mounts give it even on one disk) the file is copied,
fsynced and then unlinked: these moves need durability, not atomicity.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from services.ingest.inbox import WORK_FILE_PREFIX

# Filesystems (or policies such as fs.protected_hardlinks) that refuse hard links: rename instead.
_NO_HARD_LINKS: Final = frozenset({errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS})
_COPY_CHUNK_BYTES: Final = 1024 * 1024
_MAX_NAME_ATTEMPTS: Final = 1000

Describe = Callable[[Path], object]


def free_name(target: Path) -> Path:
    """``target``, or ``name.1.ext``, ``name.2.ext``... when it is taken."""
    if not _taken(target):
        return target
    for number in range(1, 1_000_000):
        candidate = target.with_name(f"{target.stem}.{number}{target.suffix}")
        if not _taken(candidate):
            return candidate
    raise FileExistsError(f"no free name for {target}")


def move_to(source: Path, folder: Path, relpath: str, *, describe: Describe | None = None) -> Path:
    """Move ``source`` to ``folder/relpath`` (or a free numbered name); return where it went.

    ``describe(target)`` runs once the file is in place and before ``source`` is removed.
    """
    wanted = folder / relpath
    wanted.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(_MAX_NAME_ATTEMPTS):
        target = free_name(wanted)
        try:
            source_left = _place(source, target)
        except FileExistsError:
            continue  # another replica took this name between the check and the link
        if describe is not None:
            describe(target)
        if source_left:
            source.unlink()
        return target
    raise FileExistsError(f"no free name for {wanted} after {_MAX_NAME_ATTEMPTS} attempts")


def processed_folder(processed_dir: Path, now: datetime | None = None) -> Path:
    return processed_dir / (now or datetime.now(UTC)).strftime("%Y-%m-%d")


def write_reason_file(beside: Path, record: dict[str, Any]) -> Path:
    """Write ``<name>.error.json`` next to ``beside`` (atomically)."""
    target = beside.with_name(f"{beside.name}.error.json")
    write_json_atomically(target, record)
    return target


def write_json_atomically(target: Path, record: dict[str, Any]) -> None:
    """Write ``record`` as JSON to ``target`` through a temporary file, so no one sees half of it.

    Not fsynced: that costs ~2 ms a file, as much as the rest of ingesting it. A process crash
    cannot tear the file; a power loss may leave it empty, which readers treat as missing.
    """
    temporary = target.with_name(f"{WORK_FILE_PREFIX}{uuid.uuid4().hex}.tmp")
    try:
        temporary.write_text(json.dumps(record, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _taken(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _place(source: Path, target: Path) -> bool:
    """Put ``source`` at ``target`` without replacing anything; True if ``source`` is still to remove."""
    try:
        os.link(source, target, follow_symlinks=False)
        return True
    except OSError as exc:
        if exc.errno == errno.EXDEV:
            _copy_durably(source, target)
            return True
        if exc.errno not in _NO_HARD_LINKS:
            raise
    # No hard links here: a rename is atomic but may replace a file that appeared meanwhile.
    try:
        os.rename(source, target)
        return False
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    _copy_durably(source, target)
    return True


def _copy_durably(source: Path, target: Path) -> None:
    """Copy ``source`` (a file, a link, a FIFO) to ``target`` and make it durable before returning."""
    temporary = target.with_name(f"{WORK_FILE_PREFIX}{uuid.uuid4().hex}.partial")
    info = source.lstat()
    try:
        if stat.S_ISLNK(info.st_mode):
            os.symlink(os.readlink(source), temporary)  # the link itself, never what it points to
        elif stat.S_ISREG(info.st_mode):
            _copy_bytes(source, temporary)
            os.utime(temporary, ns=(info.st_atime_ns, info.st_mtime_ns))
        elif stat.S_ISFIFO(info.st_mode):
            os.mkfifo(temporary)
        else:
            # A socket or device has no content to keep; its reason file says what it was.
            temporary.touch()
        _publish_no_replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_folder(target.parent)


def _copy_bytes(source: Path, destination: Path) -> None:
    source_fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        destination_fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            while chunk := os.read(source_fd, _COPY_CHUNK_BYTES):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(destination_fd, view) :]
            os.fsync(destination_fd)
        finally:
            os.close(destination_fd)
    finally:
        os.close(source_fd)


def _publish_no_replace(temporary: Path, target: Path) -> None:
    try:
        os.link(temporary, target, follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        os.rename(temporary, target)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
