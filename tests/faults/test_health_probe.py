"""The bounded database probe behind ``/health``: it answers in time and never piles up stuck probes.

The real stalled server is exercised in ``test_database_outage``; here the probe's own rules are
checked with a probe function that blocks until released.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine

from services.api.probe import DatabaseProbe
from services.api.schemas import ComponentHealth

pytestmark = pytest.mark.faults

_TIMEOUT_SECONDS = 0.3


def test_a_stuck_probe_reports_down_in_time_and_only_one_runs() -> None:
    release = threading.Event()
    calls: list[float] = []

    def stuck(_engine: object) -> ComponentHealth:
        calls.append(time.monotonic())
        release.wait(30)
        return ComponentHealth(state="ok")

    probe = DatabaseProbe(create_engine("sqlite://"), _TIMEOUT_SECONDS, ask=stuck)
    for _ in range(3):
        started = time.monotonic()
        health = probe.check()
        assert health.state == "down" and "no answer within 0.3 s" in (health.detail or "")
        assert time.monotonic() - started < _TIMEOUT_SECONDS + 2
    assert len(calls) == 1, "health checks wait for the probe in flight instead of starting more"

    release.set()
    deadline = time.monotonic() + 10
    while probe.check().state != "ok":
        assert time.monotonic() < deadline, "the probe recovers once the server answers"
    assert len(calls) <= 2
