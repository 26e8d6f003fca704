"""Takes a reading of every metrics endpoint every few seconds and keeps the last minutes of them.

Server-side sampling (rather than rates computed in the browser) means the page shows the recent
past the moment it opens, every viewer sees the same numbers, and a reload loses nothing. The
cost is one read of each endpoint per interval (a few milliseconds) while the API runs. The
data route also calls ``sample_if_due``, so the page works where no background thread runs (an
app used without its lifespan, as in tests).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from services.api.dashboard.figures import Charts, WindowTotals, build_charts, build_window_totals
from services.api.dashboard.history import History, Snapshot
from services.api.dashboard.keep import history_file, load_snapshots, save_snapshots
from services.api.dashboard.readings import Reading, infer_service, reduce_samples
from services.api.dashboard.scrape import Scrape, scrape_http, scrape_self
from services.api.dashboard.targets import SELF, discover_targets
from shared.config import Settings

log = logging.getLogger(__name__)

SAMPLE_INTERVAL_SECONDS = 5.0
HISTORY_SECONDS = 15 * 60.0
# How often the kept history is written to the data dir (and when the sampler stops).
SAVE_INTERVAL_SECONDS = 60.0
_THREAD_JOIN_SECONDS = 5.0
SELF_ENDPOINT = "self"


@dataclass(frozen=True)
class EndpointStatus:
    """Whether one service's metrics endpoint answered the last sample."""

    service: str
    address: str
    up: bool
    error: str | None = None


class Sampler:
    def __init__(
        self,
        settings: Settings,
        *,
        interval_seconds: float = SAMPLE_INTERVAL_SECONDS,
        keep_seconds: float = HISTORY_SECONDS,
        clock: Callable[[], float] = time.time,
        scrape_remote: Callable[[str], Scrape] = scrape_http,
    ) -> None:
        self.settings = settings
        self.interval_seconds = interval_seconds
        self.history = History(keep_seconds)
        self.statuses: list[EndpointStatus] = []
        self._clock = clock
        self._scrape_remote = scrape_remote
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.history_path = history_file(settings.data_dir)
        # Whether the history survives a restart (the data dir exists and takes the file).
        self.history_kept = False
        self._saved_at = 0.0

    def sample_if_due(self) -> None:
        """Take a sample unless the last one is recent (several viewers share the samples)."""
        with self._lock:
            last = self.history.snapshots[-1].at if self.history.snapshots else None
            # A little slack so the thread's tick and a page's poll do not both sample.
            if last is not None and self._clock() - last < self.interval_seconds * 0.8:
                return
            self._sample()

    def _sample(self) -> None:
        own_address = f"{self.settings.api_host}:{self.settings.api_port}"
        readings: dict[str, Reading] = {}
        statuses: list[EndpointStatus] = []
        own = scrape_self()
        readings[SELF_ENDPOINT] = reduce_samples(own.samples)
        statuses.append(EndpointStatus(SELF, own_address, True))
        for target in discover_targets(self.settings):
            scrape = self._scrape_remote(target.address)
            if scrape.up:
                readings[target.key] = reduce_samples(scrape.samples)
            service = target.replica or target.service or infer_service(scrape.samples) or target.address
            statuses.append(EndpointStatus(service, target.address, scrape.up, scrape.error))
        self.history.add(Snapshot(self._clock(), readings))
        self.statuses = statuses

    def latest(self, key: str) -> float | None:
        """The highest value of a gauge ``key`` in the last sample (None when no endpoint reported it)."""
        with self._lock:
            if not self.history.snapshots:
                return None
            values = [r[key] for r in self.history.snapshots[-1].readings.values() if key in r]
        return max(values) if values else None

    def latest_under(self, prefix: str) -> dict[str, float]:
        """Every gauge key under ``prefix.`` in the last sample (the rest of the key), each its highest value."""
        found: dict[str, float] = {}
        with self._lock:
            readings = self.history.snapshots[-1].readings.values() if self.history.snapshots else []
            for reading in readings:
                for key, value in reading.items():
                    if key.startswith(prefix + "."):
                        rest = key[len(prefix) + 1 :]
                        found[rest] = max(value, found.get(rest, value))
        return found

    def view(self) -> tuple[Charts, WindowTotals, list[EndpointStatus]]:
        """The figures of the kept history, computed while no sample is being added."""
        with self._lock:
            return build_charts(self.history), build_window_totals(self.history), list(self.statuses)

    # --- background ---------------------------------------------------------------------------
    def start(self) -> None:
        self.restore()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="dashboard-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=_THREAD_JOIN_SECONDS)
            self._thread = None
        self.save()

    def restore(self) -> None:
        """Take back the history saved by the previous run (what is still inside the kept window)."""
        with self._lock:
            if self.history.snapshots:
                return
            for snapshot in load_snapshots(self.history_path, self._clock() - self.history.keep_seconds):
                self.history.add(snapshot)

    def save(self) -> None:
        with self._lock:
            snapshots = list(self.history.snapshots)
        self.history_kept = save_snapshots(self.history_path, snapshots)
        self._saved_at = self._clock()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sample_if_due()
                if self._clock() - self._saved_at >= SAVE_INTERVAL_SECONDS:
                    self.save()
            except Exception:  # a failed sample must not end sampling; the next one may work
                log.exception("dashboard sample failed")
            self._stop.wait(self.interval_seconds)
