"""Where a measured pass's CPU went, read from Linux's /proc: the whole machine's, and by process.

A throughput target on a fixed number of cores is a CPU budget per request (500 requests/s on 2
cores leaves 4 ms of CPU for each, the load generator's included). Reading the CPU a pass spent
tells how far a run is from that budget and which process spends it, and it separates a slow
machine from slower code: the same code spends more CPU per request on a slower (or busier) host.
Elsewhere than Linux, or for a database on another host, the figures are simply absent.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")
# /proc/stat's cpu line: user nice system idle iowait irq softirq steal guest guest_nice. Busy is
# the time this machine ran: not idle or iowait, not steal (the host running someone else: shown
# apart), not guest (already counted in user and nice).
_BUSY_FIELDS = (0, 1, 2, 5, 6)
_STEAL_FIELD = 7


@dataclass(frozen=True)
class CpuReading:
    """Cumulative CPU counters at one moment, in clock ticks."""

    busy: int
    steal: int
    by_process: dict[int, tuple[str, int]] = field(default_factory=dict)  # pid -> (kind, ticks)


@dataclass(frozen=True)
class CpuSpent:
    """CPU milliseconds spent between two readings: on the whole machine, stolen by its host, by kind."""

    busy_ms: float
    steal_ms: float
    by_kind_ms: dict[str, float]

    def per_request(self, requests: int) -> CpuSpent:
        share = 1.0 / max(requests, 1)
        return CpuSpent(
            self.busy_ms * share, self.steal_ms * share, {kind: ms * share for kind, ms in self.by_kind_ms.items()}
        )


def available() -> bool:
    return (PROC / "stat").is_file()


def _ticks_per_ms() -> float:
    return os.sysconf("SC_CLK_TCK") / 1000.0


def _process_ticks(pid: int) -> tuple[str, int, int] | None:
    """(command name, parent pid, user + system ticks) of a live process; None if it is gone."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may itself hold spaces or parentheses.
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    rest = stat[stat.rindex(")") + 2 :].split()
    return name, int(rest[1]), int(rest[11]) + int(rest[12])


def read(api_root: int) -> CpuReading | None:
    """The machine's counters and each relevant process's: the API (``api_root`` and its descendants),
    Postgres backends (any local ``postgres`` process) and wrk."""
    if not available():
        return None
    fields = [int(value) for value in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(fields[i] for i in _BUSY_FIELDS if i < len(fields))
    steal = fields[_STEAL_FIELD] if len(fields) > _STEAL_FIELD else 0
    processes: dict[int, tuple[str, int, int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (counters := _process_ticks(int(entry.name))) is not None:
            processes[int(entry.name)] = counters
    api = _descendants(api_root, ((pid, parent) for pid, (_, parent, _) in processes.items()))
    by_process: dict[int, tuple[str, int]] = {}
    for pid, (name, _, ticks) in processes.items():
        if pid in api:
            by_process[pid] = ("API", ticks)
        elif name.startswith("postgres"):
            by_process[pid] = ("Postgres", ticks)
        elif name == "wrk":
            by_process[pid] = ("wrk", ticks)
    return CpuReading(busy, steal, by_process)


def _descendants(root: int, parents: Iterable[tuple[int, int]]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, parent in parents:
        children.setdefault(parent, []).append(pid)
    found, pending = {root}, [root]
    while pending:
        for child in children.get(pending.pop(), []):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def spent(before: CpuReading, after: CpuReading, *, wrk_ms: float) -> CpuSpent:
    """CPU spent between two readings. ``wrk_ms``: the load generator's own CPU (from its rusage),
    which /proc cannot show once it has exited."""
    per_ms = _ticks_per_ms()
    by_kind: dict[str, float] = {"API": 0.0, "Postgres": 0.0}
    for pid, (kind, ticks) in after.by_process.items():
        if kind == "wrk":
            continue
        # A process that started during the pass (a new backend) spent all its ticks in it.
        earlier = before.by_process.get(pid, (kind, 0))[1]
        by_kind[kind] = by_kind.get(kind, 0.0) + (ticks - earlier) / per_ms
    by_kind["wrk"] = wrk_ms
    return CpuSpent((after.busy - before.busy) / per_ms, (after.steal - before.steal) / per_ms, by_kind)
