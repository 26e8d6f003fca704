"""Memory and file descriptors of a running pipeline's processes, sampled in the background (psutil)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import psutil

SAMPLE_INTERVAL_SECONDS: Final = 0.5
MIB: Final = 1024 * 1024


@dataclass
class Usage:
    """What one service used: the peak resident memory and the open file descriptors seen."""

    peak_rss_bytes: int = 0
    fds: list[int] = field(default_factory=list)

    @property
    def peak_rss_mib(self) -> float:
        return self.peak_rss_bytes / MIB


def measure(pids: dict[str, int]) -> dict[str, tuple[int, int]]:
    """(rss bytes, open fds) of each named process that is alive."""
    found: dict[str, tuple[int, int]] = {}
    for name, pid in pids.items():
        try:
            process = psutil.Process(pid)
            found[name] = (process.memory_info().rss, process.num_fds())
        except psutil.NoSuchProcess:
            continue  # restarted between listing and measuring; the next sample sees the new one
    return found


class Sampler:
    """Samples ``pids()`` (name -> pid, re-read every time) until stopped; keeps each one's peak RSS."""

    def __init__(self, pids: Callable[[], dict[str, int]], interval_seconds: float = SAMPLE_INTERVAL_SECONDS) -> None:
        self._pids = pids
        self._interval_seconds = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="resource-sampler", daemon=True)
        self.usage: dict[str, Usage] = {}

    def __enter__(self) -> Sampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.sample()

    def sample(self) -> None:
        for name, (rss, fds) in measure(self._pids()).items():
            usage = self.usage.setdefault(name, Usage())
            usage.peak_rss_bytes = max(usage.peak_rss_bytes, rss)
            usage.fds.append(fds)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_seconds):
            self.sample()
