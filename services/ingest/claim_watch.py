"""How long files sit in the claim folders: the gauges that show a file ingest cannot finish.

A healthy claim lasts a second or two. A file that stays claimed (a parse that hangs, a move that
keeps failing, a broker that never acknowledges) would otherwise be invisible: it has left the
inbox, so the backlog does not count it, and it is not rejected. Every replica measures the
whole claims root (all replicas' folders, a dead replica's orphans included), at scrape time.

The time a file was claimed is its inode change time: the claim is a rename, which sets it, and
nothing else touches a claimed file. A crashing replica's files are renamed again when another
adopts them, which starts their clock anew; files that keep failing that way are counted by
their attempts instead and quarantined (``services.ingest.quarantine``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from services.ingest import metrics

_LOCK_SUFFIX: Final = ".lock"
# Three gauges read one census; a scrape reads them within milliseconds of each other.
_CENSUS_MAX_AGE_SECONDS: Final = 1.0


@dataclass(frozen=True)
class Census:
    files: int = 0
    oldest_age_seconds: float = 0.0
    stuck: int = 0


def take_census(root: Path, stuck_after_seconds: float, now: float | None = None) -> Census:
    """The files under the claims ``root`` (lock files aside), the oldest claim's age and how many are stuck."""
    now = time.time() if now is None else now
    ages: list[float] = []
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(Path(entry.path))
                    continue
                if folder == root and entry.name.endswith(_LOCK_SUFFIX):
                    continue
                ages.append(max(0.0, now - entry.stat(follow_symlinks=False).st_ctime))
            except FileNotFoundError:
                continue  # finished while we looked
    if not ages:
        return Census()
    return Census(len(ages), max(ages), sum(1 for age in ages if age > stuck_after_seconds))


class ClaimWatch:
    """Feeds the claim gauges from a census of ``root`` taken at most once a second."""

    def __init__(self, root: Path, stuck_after_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.root = root
        self.stuck_after_seconds = stuck_after_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._taken_at = float("-inf")
        self._census = Census()

    def census(self) -> Census:
        with self._lock:
            if self._clock() - self._taken_at > _CENSUS_MAX_AGE_SECONDS:
                self._census = take_census(self.root, self.stuck_after_seconds)
                self._taken_at = self._clock()
            return self._census

    def export(self) -> None:
        """Make the gauges read this watch at every scrape."""
        metrics.CLAIMED_FILES.set_function(lambda: self.census().files)
        metrics.OLDEST_CLAIM_AGE_SECONDS.set_function(lambda: self.census().oldest_age_seconds)
        metrics.STUCK_FILES.set_function(lambda: self.census().stuck)
