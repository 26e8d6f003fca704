"""The store's consumers as the API's ``/health`` reports them, read from the store's metrics.

The consumers run in the store's process. Their states are its ``newsflow_store_consumer_state``
gauges, which the dashboard's sampler reads along with every other service's metrics
(``services.api.dashboard``), as it reads ingest's quarantine for ``attention``: there is one
scraper. Why a consumer is degraded (the error it retries on) is not a label value: the store's
own ``/health`` (on ``NEWSFLOW_STORE_METRICS_PORT``) and its log say it.

An API with no store to read (tests, an API started alone or beside ingest only) has no
consumers to report. When the store's endpoint (or one not known to be another service's) does
not answer, the store cannot be reached: that is a problem, said naming the store.
"""

from __future__ import annotations

from services.api.dashboard.readings import CONSUMER_STATES
from services.api.dashboard.sampler import EndpointStatus, Sampler
from services.api.dashboard.targets import SELF
from services.api.schemas import ComponentHealth
from services.store.health import REQUIRED_CONSUMER, consumer_problem

STORE = "store"
# Worst first: should two store replicas report one consumer, the worse state counts.
_SEVERITY = ("stopped", "degraded", "starting", "ok")
_WHY_ELSEWHERE = "the store's own /health (NEWSFLOW_STORE_METRICS_PORT) and its log say why"


def store_consumers(sampler: Sampler | None) -> tuple[dict[str, ComponentHealth], list[str]]:
    """Each store consumer's health, and the problems to report (one sentence each)."""
    if sampler is None:
        return {}, []
    sampler.sample_if_due()  # at most one read of each endpoint per interval, shared with the dashboard
    states = _states(sampler.latest_under(CONSUMER_STATES))
    if not states:
        problem = _store_unreadable([s for s in sampler.statuses if s.service != SELF])
        return {}, [problem] if problem else []
    consumers: dict[str, ComponentHealth] = {}
    problems: list[str] = []
    for name in sorted(states, key=lambda consumer: (consumer != REQUIRED_CONSUMER, consumer)):
        state = states[name]
        detail = _WHY_ELSEWHERE if state in ("degraded", "stopped") else ""
        consumers[name] = ComponentHealth(state=state, detail=detail)
        problem = consumer_problem(name, state, detail)
        if problem:
            problems.append(problem)
    return consumers, problems


def _states(readings: dict[str, float]) -> dict[str, str]:
    """``{"ok.articles": 1.0, "degraded.articles": 0.0, ...}`` -> ``{"articles": "ok"}``."""
    states: dict[str, str] = {}
    for key, value in readings.items():
        state, _, consumer = key.partition(".")
        if value < 1 or state not in _SEVERITY:
            continue
        if consumer not in states or _SEVERITY.index(state) < _SEVERITY.index(states[consumer]):
            states[consumer] = state
    return states


def _store_unreadable(remote: list[EndpointStatus]) -> str | None:
    """Why no endpoint reported the consumers, when one that may be the store did not answer.

    None when every endpoint answered (none of them is a store: an API read beside ingest alone)
    or there is none to read.
    """
    down = [s for s in remote if not s.up and s.service == STORE]
    # Without a targets file (NEWSFLOW_METRICS_TARGETS) a silent endpoint is known by its address only.
    down = down or [s for s in remote if not s.up and s.service == s.address]
    if not down:
        return None
    errors = "; ".join(s.error or s.address for s in down)
    return f"store: not reachable, its consumers' states are unknown ({errors})"
