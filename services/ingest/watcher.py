"""Waking the service up when the inbox changes: inotify via watchfiles, polling as the fallback.

The watcher only says "look now"; what is in the inbox is always decided by a fresh scan, so
a missed or merged event costs at most one poll interval, never a file.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Final

import watchfiles

log = logging.getLogger(__name__)

# Batch bursts of events (a folder copy) for this long before waking the service.
DEBOUNCE_MS: Final = 50
STEP_MS: Final = 25


class InboxWatcher(threading.Thread):
    """Sets ``wake`` whenever something changes under ``inbox``; stops with ``stop``."""

    def __init__(self, inbox: Path, *, recursive: bool, wake: threading.Event, stop: threading.Event) -> None:
        super().__init__(name="ingest-watcher", daemon=True)
        self.inbox = inbox
        self.recursive = recursive
        self.wake = wake
        self.stop_event = stop
        self.failed = False

    def run(self) -> None:
        try:
            for _changes in watchfiles.watch(
                self.inbox,
                watch_filter=None,
                debounce=DEBOUNCE_MS,
                step=STEP_MS,
                stop_event=self.stop_event,
                recursive=self.recursive,
                raise_interrupt=False,
            ):
                self.wake.set()
        except (OSError, RuntimeError) as exc:
            # inotify limits, unsupported filesystems: the service keeps polling the folder.
            self.failed = True
            log.warning(
                "file watching unavailable, polling the inbox instead",
                extra={"inbox": str(self.inbox), "error": str(exc)},
            )
