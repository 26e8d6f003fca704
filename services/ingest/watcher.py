"""Waking the service up when the inbox changes (inotify), and telling how each file was written.

The watcher only says "look now"; what is in the inbox is always decided by a fresh scan, so
a missed or merged event costs at most one poll interval, never a file. It also records how each
file came to be, which is what completion detection needs (see ``settle``):

- *moved in*: renamed into the inbox whole (``IN_MOVED_TO``), as careful writers do (a ``.part``
  renamed at the end, rsync, browsers): complete as soon as it has settled;
- *written in place*: opened and written in the inbox itself (``IN_MODIFY`` / ``IN_CLOSE_WRITE``):
  its writer may close it and reopen it to append, so it must stay closed and unchanged for the
  longer append grace.

inotify is used directly (``ctypes``), on the raw bytes of names: a name that is not UTF-8 is a
file like any other. Where inotify is missing or fails (another OS, a full watch table, network
mounts that never report changes), the service polls and the settle timer alone decides.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import logging
import os
import select
import struct
import threading
import time
from pathlib import Path
from typing import Final, Literal

log = logging.getLogger(__name__)

# Batch bursts of events (a folder copy) for this long before waking the service.
DEBOUNCE_SECONDS: Final = 0.05
_STOP_CHECK_SECONDS: Final = 0.2
_READ_BYTES: Final = 64 * 1024

# <sys/inotify.h>
IN_MODIFY: Final = 0x00000002
IN_CLOSE_WRITE: Final = 0x00000008
IN_MOVED_FROM: Final = 0x00000040
IN_MOVED_TO: Final = 0x00000080
IN_CREATE: Final = 0x00000100
IN_DELETE: Final = 0x00000200
IN_DELETE_SELF: Final = 0x00000400
IN_Q_OVERFLOW: Final = 0x00004000
IN_IGNORED: Final = 0x00008000
IN_ISDIR: Final = 0x40000000
IN_NONBLOCK: Final = os.O_NONBLOCK
IN_CLOEXEC: Final = os.O_CLOEXEC
_WATCHED: Final = IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_DELETE_SELF
_EVENT: Final = struct.Struct("iIII")

HowWritten = Literal["moved_in", "written_in_place"]


class WriteActivity:
    """How each inbox file (by path relative to the inbox) was last written, as inotify told it."""

    def __init__(self) -> None:
        self._how: dict[str, HowWritten] = {}
        self._lock = threading.Lock()
        self.available = False

    def moved_in(self, relpath: str) -> None:
        with self._lock:
            self._how[relpath] = "moved_in"

    def written(self, relpath: str) -> None:
        with self._lock:
            self._how[relpath] = "written_in_place"

    def how(self, relpath: str) -> HowWritten | None:
        """None when not seen being written (there before the service started, or no inotify)."""
        with self._lock:
            return self._how.get(relpath)

    def forget(self, relpath: str) -> None:
        with self._lock:
            self._how.pop(relpath, None)

    def forget_all(self) -> None:
        with self._lock:
            self._how.clear()


class InboxWatcher(threading.Thread):
    """Sets ``wake`` whenever something changes under ``inbox`` and records ``activity``; stops with ``stop``."""

    def __init__(
        self,
        inbox: Path,
        *,
        recursive: bool,
        wake: threading.Event,
        stop: threading.Event,
        activity: WriteActivity | None = None,
    ) -> None:
        super().__init__(name="ingest-watcher", daemon=True)
        self.inbox = inbox
        self.recursive = recursive
        self.wake = wake
        self.stop_event = stop
        self.activity = activity or WriteActivity()
        self.failed = False
        self._folders: dict[int, bytes] = {}
        self._fd = -1

    def run(self) -> None:
        try:
            self._fd = _inotify_init()
            self._watch_tree(os.fsencode(self.inbox))
            self.activity.available = True
            self._loop()
        except OSError as exc:
            # No inotify here, or its limits are reached: the service keeps polling the folder.
            self.failed = True
            self.activity.available = False
            log.warning(
                "file watching unavailable, polling the inbox instead",
                extra={"inbox": str(self.inbox), "error": str(exc)},
            )
        finally:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def _loop(self) -> None:
        while not self.stop_event.is_set():
            ready, _, _ = select.select([self._fd], [], [], _STOP_CHECK_SECONDS)
            if not ready:
                continue
            self._read_events()
            # A burst of events (a folder being copied) wakes the service once, not once an event.
            deadline = time.monotonic() + DEBOUNCE_SECONDS
            while (left := deadline - time.monotonic()) > 0 and select.select([self._fd], [], [], left)[0]:
                self._read_events()
            self.wake.set()

    def _read_events(self) -> None:
        try:
            data = os.read(self._fd, _READ_BYTES)
        except BlockingIOError:
            return
        offset = 0
        while offset + _EVENT.size <= len(data):
            watch, mask, _cookie, length = _EVENT.unpack_from(data, offset)
            name = data[offset + _EVENT.size : offset + _EVENT.size + length].rstrip(b"\0")
            offset += _EVENT.size + length
            self._handle(watch, mask, name)

    def _handle(self, watch: int, mask: int, name: bytes) -> None:
        if mask & IN_Q_OVERFLOW:
            # Events were lost: nothing is known about how files were written any more.
            self.activity.forget_all()
            return
        if mask & IN_IGNORED:
            self._folders.pop(watch, None)
            return
        folder = self._folders.get(watch)
        if folder is None or not name:
            return
        path = os.path.join(folder, name)
        if mask & IN_ISDIR:
            if self.recursive and mask & (IN_CREATE | IN_MOVED_TO):
                self._watch_tree(path)
            return
        relpath = os.fsdecode(os.path.relpath(path, os.fsencode(self.inbox))).replace(os.sep, "/")
        if mask & IN_MOVED_TO:
            self.activity.moved_in(relpath)
        elif mask & (IN_MODIFY | IN_CLOSE_WRITE):
            self.activity.written(relpath)
        elif mask & (IN_DELETE | IN_MOVED_FROM):
            self.activity.forget(relpath)

    def _watch_tree(self, top: bytes) -> None:
        self._add_watch(top)
        if not self.recursive:
            return
        for folder, subfolders, _ in os.walk(top):
            for sub in subfolders:
                self._add_watch(os.path.join(folder, sub))

    def _add_watch(self, folder: bytes) -> None:
        watch = _LIBC.inotify_add_watch(self._fd, folder, _WATCHED) if _LIBC else -1
        if watch < 0:
            code = ctypes.get_errno() or errno.ENOSYS
            if folder == os.fsencode(self.inbox):
                raise OSError(code, f"inotify_add_watch: {os.strerror(code)}", os.fsdecode(folder))
            log.warning("cannot watch a folder of the inbox", extra={"folder": os.fsdecode(folder)})
            return
        self._folders[watch] = folder


def _load_libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    libc = ctypes.CDLL(name, use_errno=True)
    if not hasattr(libc, "inotify_init1"):
        return None
    libc.inotify_init1.argtypes = [ctypes.c_int]
    libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
    return libc


_LIBC: Final = _load_libc()


def _inotify_init() -> int:
    if _LIBC is None:
        raise OSError(errno.ENOSYS, "inotify is not available on this system")
    fd = int(_LIBC.inotify_init1(IN_NONBLOCK | IN_CLOEXEC))
    if fd < 0:
        code = ctypes.get_errno()
        raise OSError(code, f"inotify_init1: {os.strerror(code)}")
    return fd
