"""The rule of when a store consumer's state is a problem, and the store's own small ``/health``.

One rule for both places that judge the consumers: the store's ``/health`` on its metrics port
(``NEWSFLOW_STORE_METRICS_PORT``, with each consumer's detail: the error it retries on) and the
read API's ``/health`` (``services.api.consumers``, from the store's metrics).
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.consumer import LoopStatus
from shared.metrics import HealthAnswer

# The articles consumer must be consuming; the others may still be joining their group.
REQUIRED_CONSUMER = "articles"


def consumer_problem(name: str, state: str, detail: str) -> str | None:
    """One sentence when consumer ``name`` in ``state`` makes the pipeline degraded, else None."""
    if state == "ok" or (state == "starting" and name != REQUIRED_CONSUMER):
        return None
    if state == "starting":
        return f"consumer {name} is starting (joining its consumer group)"
    return f"consumer {name} is {state}" + (f": {detail}" if detail else "")


def store_health(statuses: Mapping[str, LoopStatus]) -> HealthAnswer:
    """The store's ``/health``: 200 ``ok`` when no consumer is a problem, else 503 ``degraded`` with the reasons."""
    problems = [p for name, s in statuses.items() if (p := consumer_problem(name, s.state, s.detail))]
    body: dict[str, object] = {
        "status": "degraded" if problems else "ok",
        "consumers": {name: {"state": s.state, "detail": s.detail} for name, s in statuses.items()},
    }
    if problems:
        body["reason"] = "; ".join(problems)
    return not problems, body
