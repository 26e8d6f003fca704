"""``/metrics``: the process's Prometheus metrics, on the API's own port (not in the OpenAPI document).

The store is one process (uvicorn in a thread next to its two consumer loops), so this is the
process's own registry; ``shared.metrics.metrics_registry`` switches to prometheus-client's
multiprocess collector should it ever run under ``PROMETHEUS_MULTIPROC_DIR``.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared.metrics import metrics_registry

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics_route() -> Response:
    return Response(generate_latest(metrics_registry()), media_type=CONTENT_TYPE_LATEST)
