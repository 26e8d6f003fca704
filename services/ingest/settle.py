"""When a file is ready: its size and mtime held still for the settle time and no one writes it.

Two checks, because each alone fails somewhere: a writer pausing longer than the settle time
(slow uploads) is caught by the kernel's lease check, which refuses a read lease while any
process holds the file open for writing; on filesystems without leases (NFS, SMB) the settle
time is the guard.

A writer that closes the file between writes and reopens it to append (a script doing
``echo ... >> file`` every few seconds) holds it open for neither check. So a file the watcher
saw being written in the inbox itself must stay closed and unchanged for the longer append
grace; a file renamed into the inbox whole (the careful way) only for the settle time. Without
inotify (polling, network mounts) the settle time alone decides.
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
from services.ingest.watcher import WriteActivity

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
    quiet_seconds: float


class SettleTracker:
    """Remembers each candidate's (size, mtime) and says which ones have settled."""

    def __init__(
        self,
        settle_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        append_grace_seconds: float | None = None,
        activity: WriteActivity | None = None,
    ) -> None:
        self.settle_seconds = settle_seconds
        self.append_grace_seconds = max(settle_seconds, append_grace_seconds or 0.0)
        self.activity = activity
        self.clock = clock
        self._seen: dict[str, _Seen] = {}

    def quiet_seconds(self, relpath: str) -> float:
        """How long ``relpath`` must stay unchanged: the append grace if it was written in place."""
        if self.activity is not None and self.activity.how(relpath) == "written_in_place":
            return self.append_grace_seconds
        return self.settle_seconds

    def ready(self, candidates: list[Candidate]) -> list[Candidate]:
        """The candidates unchanged for the settle time and not open for writing, in order."""
        now = self.clock()
        ready: list[Candidate] = []
        present = set()
        for candidate in candidates:
            present.add(candidate.relpath)
            signature = (candidate.size, candidate.mtime_ns)
            seen = self._seen.get(candidate.relpath)
            quiet = self.quiet_seconds(candidate.relpath)
            if seen is None or seen.signature != signature:
                self._seen[candidate.relpath] = _Seen(signature, now, quiet)
                if candidate.kind == "symlink":
                    ready.append(candidate)  # never read, only rejected: no need to wait
                continue
            seen.quiet_seconds = quiet
            if now - seen.since >= quiet and (candidate.kind != "file" or not has_writer(candidate.path)):
                ready.append(candidate)
        for gone in set(self._seen) - present:
            del self._seen[gone]
        return ready

    def forget(self, relpath: str) -> None:
        self._seen.pop(relpath, None)
        if self.activity is not None:
            self.activity.forget(relpath)

    def seconds_until_due(self) -> float | None:
        """How long until the next waiting candidate may have settled (None: nothing waits)."""
        if not self._seen:
            return None
        now = self.clock()
        return max(RECHECK_MIN_SECONDS, min(s.since + s.quiet_seconds - now for s in self._seen.values()))
