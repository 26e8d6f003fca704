"""``/health``: 200 when the database answers and the consumers run; 503 ``degraded`` with the reason otherwise.

The consumers run in the store's process: their states come from its metrics, and a store that
cannot be read makes ``/health`` 503 naming the store (``services.api.consumers``).

Some things need a person without stopping the API: a file ingest set aside in ``quarantine/``,
or one stuck in its claim folder (read from ingest's metrics by the dashboard's sampler, so it
works wherever the dashboard finds ingest; see ``services.api.dashboard.attention``). Then
``status`` is ``degraded`` with the reason, and the answer stays 200: a bad file dropped in the
inbox must not take the API out of a load balancer.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.api.consumers import store_consumers
from services.api.dashboard.attention import pipeline_attention
from services.api.dashboard.sampler import Sampler
from services.api.probe import probe_of
from services.api.schemas import Health

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)


@router.get(
    "/health",
    response_model=Health,
    summary="Readiness",
    responses={503: {"model": Health, "description": "Degraded: the reason says what is wrong."}},
)
def health_route(request: Request) -> Health | JSONResponse:
    # Bounded: a stalled server must make /health say so, not hang it.
    database = probe_of(request.app).check()
    problems = [] if database.state == "ok" else [f"database: {database.detail}"]
    sampler: Sampler | None = getattr(request.app.state, "sampler", None)
    reported, consumer_problems = store_consumers(sampler)
    problems += consumer_problems
    attention = pipeline_attention(sampler)
    if not problems:
        if attention:
            return Health(status="degraded", reason="; ".join(attention), database=database, consumers=reported)
        return Health(status="ok", database=database, consumers=reported)
    body = Health(status="degraded", reason="; ".join(problems + attention), database=database, consumers=reported)
    return JSONResponse(status_code=503, content=body.model_dump(mode="json"))
