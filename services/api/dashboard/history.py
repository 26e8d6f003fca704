"""Recent readings of every endpoint, and the increases of their counters over a window.

Increases follow Prometheus' rules per endpoint and series: a counter that went down was reset
(its process restarted), so its increase is its new value; an endpoint that was not read at the
previous sample contributes nothing for that step. Increases are summed over endpoints, then
accumulated, so the increase over any window is one subtraction.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from services.api.dashboard.readings import Reading, kind_of


@dataclass(frozen=True)
class Snapshot:
    """One sample: when (unix seconds) and each answering endpoint's reading."""

    at: float
    readings: dict[str, Reading]


def step_increase(before: Snapshot, after: Snapshot) -> Reading:
    """Counter increases from ``before`` to ``after``, summed over the endpoints read both times."""
    total: Reading = {}
    for endpoint, reading in after.readings.items():
        previous = before.readings.get(endpoint)
        if previous is None:
            continue
        for key, value in reading.items():
            if kind_of(key) != "counter":
                continue
            # A series the endpoint did not have yet was created since: all of it is new.
            old = previous.get(key, 0.0)
            increase = value - old if value >= old else value
            total[key] = total.get(key, 0.0) + increase
    return total


def combined_gauges(snapshot: Snapshot) -> Reading:
    """The gauges of one snapshot, combined over endpoints (summed, or the largest)."""
    combined: Reading = {}
    for reading in snapshot.readings.values():
        for key, value in reading.items():
            kind = kind_of(key)
            if kind == "gauge_sum":
                combined[key] = combined.get(key, 0.0) + value
            elif kind == "gauge_max":
                combined[key] = max(combined.get(key, value), value)
    return combined


@dataclass
class History:
    """Snapshots of the last ``keep_seconds``, with running counter totals for window arithmetic."""

    keep_seconds: float
    snapshots: deque[Snapshot] = field(default_factory=deque)
    # cumulative[i]: counter increases from the first kept snapshot up to snapshots[i].
    cumulative: deque[Reading] = field(default_factory=deque)

    def add(self, snapshot: Snapshot) -> None:
        if self.snapshots:
            step = step_increase(self.snapshots[-1], snapshot)
            running = dict(self.cumulative[-1])
            for key, value in step.items():
                running[key] = running.get(key, 0.0) + value
        else:
            running = {}
        self.snapshots.append(snapshot)
        self.cumulative.append(running)
        while self.snapshots and self.snapshots[0].at < snapshot.at - self.keep_seconds:
            self.snapshots.popleft()
            self.cumulative.popleft()

    def window_start(self, index: int, window_seconds: float) -> int:
        """The oldest snapshot index no more than ``window_seconds`` before snapshot ``index``."""
        start = index
        while start > 0 and self.snapshots[start - 1].at >= self.snapshots[index].at - window_seconds:
            start -= 1
        return start

    def increase(self, start: int, end: int) -> Reading:
        """Counter increases between snapshots ``start`` and ``end`` (0 for keys without any)."""
        first, last = self.cumulative[start], self.cumulative[end]
        return {key: value - first.get(key, 0.0) for key, value in last.items()}
