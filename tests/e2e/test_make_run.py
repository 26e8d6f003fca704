"""`make run` stops everything however it is told to: SIGINT or SIGTERM sent to the make process alone.

GNU make passes SIGTERM on to its recipe but not SIGINT (it expects the terminal to have sent it to
every process, as Ctrl-C does): `kill -INT <make>` used to leave the whole pipeline running while
make waited for it. Ctrl-C itself is in tests/test_readme.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import psutil
import pytest

from tests.stack import scratch_project, start_make_run, still_running

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

_STOPPED_WITHIN_SECONDS = 60.0


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_to_the_make_process_stops_everything(tmp_path: Path, signum: signal.Signals) -> None:
    with start_make_run(scratch_project(tmp_path / "newsflow")) as running:
        processes = running.processes()
        make = processes[0]
        assert make.name() == "make", [p.name() for p in processes]
        names = " ".join(" ".join(p.cmdline()) for p in processes[1:])
        assert "tansu" in names and names.count("services.cli") == 4, "ingest, enrich, the store and the API"
        # Postgres daemonises (pg_ctl): it is no child of make; its pid is in its data dir.
        postmaster = psutil.Process(int((running.data_dir / "postgres" / "postmaster.pid").read_text().split()[0]))
        processes.append(postmaster)

        os.kill(make.pid, signum)  # `kill -INT <pid>` / `kill -TERM <pid>`: make alone gets it
        running.process.wait(timeout=_STOPPED_WITHIN_SECONDS)
        time.sleep(0.5)

        assert not still_running(processes)
        assert not (running.data_dir / "postgres" / "postmaster.pid").exists()
        assert "newsflow stopped." in running.output.read_text()
