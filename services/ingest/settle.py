"""When a file is ready: its size and mtime held still for the settle time and no one writes it.

Two checks, because each alone fails somewhere: a writer pausing longer than the settle time
(slow uploads) is caught by the kernel's lease check, which refuses a read lease while any
process holds the file open for writing; on filesystems without leases (NFS, SMB) the settle
time is the guard.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from services.ingest.inbox import Candidate

# A file still open for writing is looked at again after this long (no busy loop meanwhile).
RECHECK_MIN_SECONDS: Final = 0.1


def has_writer(path: Path) -> bool:
    """True if some local process has ``path`` open for writing (Linux leases); else False."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError:
        return False  # gone or unreadable: the reader will report it
    try:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
    except OSError as exc:
        # EAGAIN: open for writing somewhere. Other errors: leases unsupported here.
        return exc.errno in (errno.EAGAIN, errno.EBUSY)
    else:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
        return False
    finally:
        os.close(fd)


@dataclass
class _Seen:
    signature: tuple[int, int]
    since: float


class SettleTracker:
    """Remembers each candidate's (size, mtime) and says which ones have settled."""

    def __init__(self, settle_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.settle_seconds = settle_seconds
        self.clock = clock
        self._seen: dict[str, _Seen] = {}

    def ready(self, candidates: list[Candidate]) -> list[Candidate]:
        """The candidates unchanged for the settle time and not open for writing, in order."""
        now = self.clock()
        ready: list[Candidate] = []
        present = set()
        for candidate in candidates:
            present.add(candidate.relpath)
            signature = (candidate.size, candidate.mtime_ns)
            seen = self._seen.get(candidate.relpath)
            if seen is None or seen.signature != signature:
                self._seen[candidate.relpath] = _Seen(signature, now)
                if candidate.kind == "symlink":
                    ready.append(candidate)  # never read, only rejected: no need to wait
                continue
            if now - seen.since >= self.settle_seconds and (candidate.kind != "file" or not has_writer(candidate.path)):
                ready.append(candidate)
        for gone in set(self._seen) - present:
            del self._seen[gone]
        return ready

    def forget(self, relpath: str) -> None:
        self._seen.pop(relpath, None)

    def seconds_until_due(self) -> float | None:
        """How long until the next waiting candidate may have settled (None: nothing waits)."""
        if not self._seen:
            return None
        now = self.clock()
        return max(RECHECK_MIN_SECONDS, min(s.since + self.settle_seconds - now for s in self._seen.values()))
