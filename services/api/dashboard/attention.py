"""What in the pipeline needs a person although every service runs: ``/health`` and ``/dashboard`` say the same.

Read from ingest's gauges in the sampler's latest reading (wherever the dashboard finds ingest):
files quarantined after failing repeatedly, and files stuck in ingest's claim folders (claimed
longer than ``NEWSFLOW_STUCK_CLAIM_SECONDS``, say a parse that hangs or a move that keeps failing).
"""

from __future__ import annotations

from typing import Protocol

from services.api.dashboard.readings import OLDEST_CLAIM_AGE, QUARANTINED, STUCK


class LatestReadings(Protocol):
    def latest(self, key: str) -> float | None: ...


def pipeline_attention(sampler: LatestReadings | None) -> list[str]:
    """One sentence per problem (empty when nothing needs a person)."""
    if sampler is None:
        return []
    reasons: list[str] = []
    quarantined = sampler.latest(QUARANTINED)
    if quarantined:
        reasons.append(
            f"ingest: {quarantined:.0f} file(s) quarantined after failing repeatedly; see quarantine/ in the data "
            "dir (each beside a .error.json saying why)"
        )
    stuck = sampler.latest(STUCK)
    if stuck:
        age = sampler.latest(OLDEST_CLAIM_AGE) or 0.0
        reasons.append(
            f"ingest: {stuck:.0f} file(s) stuck in its claim folder (the oldest claimed {age:.0f} s ago) without "
            "being published or rejected; see the ingest log for the file name and error"
        )
    return reasons
