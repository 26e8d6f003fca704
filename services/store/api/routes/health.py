"""``/health``: 200 when the database answers and the consumers run; 503 ``degraded`` with the reason otherwise.

Some things need a person without stopping the API: a file ingest set aside in ``quarantine/``
(read from ingest's metrics by the dashboard's sampler, so it works wherever the dashboard finds
ingest). Then ``status`` is ``degraded`` with the reason, and the answer stays 200: a bad file
dropped in the inbox must not take the API out of a load balancer.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.store.api.deps import ConsumerStatuses
from services.store.api.probe import probe_of
from services.store.api.schemas import ComponentHealth, Health
from services.store.dashboard.readings import QUARANTINED
from services.store.dashboard.sampler import Sampler

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)

# The articles consumer must be consuming; the others may still be joining their group.
REQUIRED_CONSUMER = "articles"


def _problem(name: str, state: str, detail: str) -> str | None:
    if state == "ok" or (state == "starting" and name != REQUIRED_CONSUMER):
        return None
    if state == "starting":
        return f"consumer {name} is starting (joining its consumer group)"
    return f"consumer {name} is {state}" + (f": {detail}" if detail else "")


@router.get(
    "/health",
    response_model=Health,
    summary="Readiness",
    responses={503: {"model": Health, "description": "Degraded: the reason says what is wrong."}},
)
def health_route(request: Request, consumers: ConsumerStatuses) -> Health | JSONResponse:
    # Bounded: a stalled server must make /health say so, not hang it.
    database = probe_of(request.app).check()
    problems = [] if database.state == "ok" else [f"database: {database.detail}"]
    reported: dict[str, ComponentHealth] = {}
    for name, status in consumers.items():
        reported[name] = ComponentHealth(state=status.state, detail=status.detail)
        problem = _problem(name, status.state, status.detail)
        if problem:
            problems.append(problem)
    if not problems:
        attention = _needs_attention(request)
        if attention:
            return Health(status="degraded", reason="; ".join(attention), database=database, consumers=reported)
        return Health(status="ok", database=database, consumers=reported)
    body = Health(status="degraded", reason="; ".join(problems), database=database, consumers=reported)
    return JSONResponse(status_code=503, content=body.model_dump(mode="json"))


def _needs_attention(request: Request) -> list[str]:
    sampler: Sampler | None = getattr(request.app.state, "sampler", None)
    quarantined = sampler.latest(QUARANTINED) if sampler is not None else None
    if not quarantined:
        return []
    return [
        f"ingest: {quarantined:.0f} file(s) quarantined after failing repeatedly; see quarantine/ in the data dir "
        "(each beside a .error.json saying why)"
    ]
