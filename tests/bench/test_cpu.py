"""bench/cpu.py against a fake /proc: which ticks count as busy, and whose processes are whose."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bench import cpu


def _write_proc(root: Path, stat_line: str, processes: dict[int, tuple[str, int, int, int]]) -> None:
    """/proc/stat's cpu line and, per pid, a stat file: (command, parent, utime, stime)."""
    if root.exists():
        shutil.rmtree(root)  # a process absent from this reading has exited
    root.mkdir()
    (root / "stat").write_text(f"cpu  {stat_line}\ncpu0 0 0 0 0\n")
    for pid, (name, parent, utime, stime) in processes.items():
        (root / str(pid)).mkdir()
        # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
        (root / str(pid) / "stat").write_text(f"{pid} ({name}) S {parent} 1 1 0 -1 0 0 0 0 0 {utime} {stime} 0 0\n")


def test_busy_leaves_out_idle_steal_and_guest_and_kinds_follow_the_process_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cpu, "PROC", tmp_path)
    ticks_per_ms = os.sysconf("SC_CLK_TCK") / 1000.0
    # user nice system idle iowait irq softirq steal guest guest_nice
    _write_proc(
        tmp_path,
        "100 0 50 900 10 0 0 5 40 0",
        {
            10: ("python", 1, 30, 10),  # the API's root
            11: ("python", 10, 20, 0),  # a worker
            20: ("postgres", 1, 15, 5),
            30: ("wrk", 1, 7, 0),
            40: ("other (odd) name", 1, 99, 0),
        },
    )
    before = cpu.read(api_root=10)
    assert before is not None
    assert before.busy == 150 and before.steal == 5
    _write_proc(
        tmp_path,
        "300 0 100 1000 10 0 10 25 90 0",
        {
            10: ("python", 1, 40, 10),
            11: ("python", 10, 80, 10),
            12: ("python", 10, 20, 0),  # a worker started during the pass
            20: ("postgres", 1, 35, 5),
            21: ("postgres: newsflow", 20, 50, 0),  # a new backend
            40: ("other (odd) name", 1, 500, 0),
        },
    )
    after = cpu.read(api_root=10)
    assert after is not None
    assert {pid: kind for pid, (kind, _) in after.by_process.items()} == {
        10: "API",
        11: "API",
        12: "API",
        20: "Postgres",
        21: "Postgres",
    }
    spent = cpu.spent(before, after, wrk_ms=3.0).per_request(2)
    assert spent.busy_ms == pytest.approx((410 - 150) / ticks_per_ms / 2)  # user + system + softirq
    assert spent.steal_ms == pytest.approx(20 / ticks_per_ms / 2)
    assert spent.by_kind_ms == pytest.approx(
        {"API": (10 + 70 + 20) / ticks_per_ms / 2, "Postgres": (20 + 50) / ticks_per_ms / 2, "wrk": 1.5}
    )


def test_nothing_to_read_without_proc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpu, "PROC", tmp_path / "absent")
    assert cpu.read(api_root=1) is None
