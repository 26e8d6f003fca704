"""The dashboard's figures from the kept history: per-stage rates, quantiles, gauges and window totals.

Every time series is evaluated at each snapshot over the trailing ``RATE_WINDOW_SECONDS``, like
``rate(x[30s])`` in PromQL; a point without enough history is ``None`` (a gap, not a zero).
Quantiles interpolate inside histogram buckets exactly as Prometheus' ``histogram_quantile`` does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from pydantic import BaseModel

from services.api.dashboard.history import History, combined_gauges
from services.api.dashboard.readings import (
    CATCHUP_LATENCY,
    CLAIMED,
    LIVE_LATENCY,
    OLDEST_CLAIM_AGE,
    QUARANTINED,
    STUCK,
    Reading,
)

RATE_WINDOW_SECONDS = 30.0
QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
STAGE_COUNTERS = {"ingest": "ingest.articles", "enrich": "enrich.articles", "store": "store.articles"}
REPRINT_OUTCOMES = ("outcome.reprint", "outcome.exact_duplicate")
# Articles decided for the first time; "seen_before" (replays, redeliveries) says nothing of reprints.
DECIDED_OUTCOMES = ("outcome.original", *REPRINT_OUTCOMES)

Series = list[float | None]


class Charts(BaseModel):
    """Time series for the line charts; every list is aligned with ``times_ms``."""

    window_seconds: float
    times_ms: list[int]
    throughput: dict[str, Series]
    # Files dropped into the inbox (live) only; backfills' and replays' p95 apart.
    latency_seconds: dict[str, Series]
    catchup_p95_seconds: Series
    lag: dict[str, Series]
    inbox_backlog_files: Series
    inbox_oldest_age_seconds: Series
    claimed_files: Series
    oldest_claim_age_seconds: Series
    stuck_files: Series
    quarantined_files: Series
    reprint_rate: Series
    api_requests_per_second: Series
    api_errors_per_second: Series
    api_p95_seconds: Series


class WindowTotals(BaseModel):
    """Counter increases over the whole kept history (bar charts)."""

    seconds: float
    entities_by_type: dict[str, float]
    outcomes: dict[str, float]
    dead_letters_by_stage: dict[str, float]


def histogram_quantile(quantile: float, increases: Reading, prefix: str) -> float | None:
    """The ``quantile`` of the observations counted in the ``prefix.<le>`` bucket increases."""
    buckets = sorted(
        (float(key[len(prefix) + 1 :]), value) for key, value in increases.items() if key.startswith(prefix + ".")
    )
    if len(buckets) < 2 or not math.isinf(buckets[-1][0]):
        return None
    # Buckets are cumulative; a reset inside the window can break that, so restore it.
    monotonic: list[tuple[float, float]] = []
    highest = 0.0
    for upper, count in buckets:
        highest = max(highest, count)
        monotonic.append((upper, highest))
    total = monotonic[-1][1]
    if total <= 0:
        return None
    rank = quantile * total
    index = next(i for i, (_, count) in enumerate(monotonic) if count >= rank)
    upper, count = monotonic[index]
    if math.isinf(upper):
        return monotonic[-2][0]  # like Prometheus: the highest finite bound
    lower, below = (0.0, 0.0) if index == 0 else monotonic[index - 1]
    if count == below:
        return upper
    return lower + (upper - lower) * (rank - below) / (count - below)


def _keys(readings: Iterable[Reading], prefix: str) -> list[str]:
    return sorted({key for reading in readings for key in reading if key.startswith(prefix + ".")})


def build_charts(history: History, window_seconds: float = RATE_WINDOW_SECONDS) -> Charts:
    snapshots = list(history.snapshots)
    gauges = [combined_gauges(snapshot) for snapshot in snapshots]
    charts = Charts(
        window_seconds=window_seconds,
        times_ms=[int(snapshot.at * 1000) for snapshot in snapshots],
        throughput={stage: [] for stage in STAGE_COUNTERS},
        latency_seconds={name: [] for name in QUANTILES},
        catchup_p95_seconds=[],
        lag={key.split(".", 1)[1]: [] for key in _keys(gauges, "lag")},
        inbox_backlog_files=[],
        inbox_oldest_age_seconds=[],
        claimed_files=[],
        oldest_claim_age_seconds=[],
        stuck_files=[],
        quarantined_files=[],
        reprint_rate=[],
        api_requests_per_second=[],
        api_errors_per_second=[],
        api_p95_seconds=[],
    )
    for index, snapshot in enumerate(snapshots):
        start = history.window_start(index, window_seconds)
        seconds = snapshot.at - snapshots[start].at
        increases = history.increase(start, index) if seconds > 0 else None

        def rate(key: str, increases: Reading | None = increases, seconds: float = seconds) -> float | None:
            return None if increases is None else increases.get(key, 0.0) / seconds

        for stage, key in STAGE_COUNTERS.items():
            charts.throughput[stage].append(rate(key))
        for name, quantile in QUANTILES.items():
            charts.latency_seconds[name].append(
                None if increases is None else histogram_quantile(quantile, increases, LIVE_LATENCY)
            )
        charts.catchup_p95_seconds.append(
            None if increases is None else histogram_quantile(0.95, increases, CATCHUP_LATENCY)
        )
        for group, values in charts.lag.items():
            values.append(gauges[index].get(f"lag.{group}"))
        charts.inbox_backlog_files.append(gauges[index].get("inbox.backlog"))
        charts.inbox_oldest_age_seconds.append(gauges[index].get("inbox.oldest_age"))
        charts.claimed_files.append(gauges[index].get(CLAIMED))
        charts.oldest_claim_age_seconds.append(gauges[index].get(OLDEST_CLAIM_AGE))
        charts.stuck_files.append(gauges[index].get(STUCK))
        charts.quarantined_files.append(gauges[index].get(QUARANTINED))
        charts.reprint_rate.append(_reprint_rate(increases))
        charts.api_requests_per_second.append(rate("api.requests"))
        charts.api_errors_per_second.append(rate("api.errors"))
        charts.api_p95_seconds.append(None if increases is None else histogram_quantile(0.95, increases, "api.le"))
    return charts


def _reprint_rate(increases: Reading | None) -> float | None:
    if increases is None:
        return None
    articles = sum(increases.get(key, 0.0) for key in DECIDED_OUTCOMES)
    if articles <= 0:
        return None
    return sum(increases.get(key, 0.0) for key in REPRINT_OUTCOMES) / articles


def build_window_totals(history: History) -> WindowTotals:
    if not history.snapshots:
        return WindowTotals(seconds=0, entities_by_type={}, outcomes={}, dead_letters_by_stage={})
    last = len(history.snapshots) - 1
    increases = history.increase(0, last)
    # Keys seen in any reading are listed even at 0, so the bars keep their places.
    seen = set(increases) | {key for snapshot in history.snapshots for r in snapshot.readings.values() for key in r}

    def split(prefix: str) -> dict[str, float]:
        return {key[len(prefix) + 1 :]: increases.get(key, 0.0) for key in sorted(seen) if key.startswith(prefix + ".")}

    return WindowTotals(
        seconds=history.snapshots[last].at - history.snapshots[0].at,
        entities_by_type=split("entities"),
        outcomes=split("outcome"),
        dead_letters_by_stage=split("dead_letters"),
    )
