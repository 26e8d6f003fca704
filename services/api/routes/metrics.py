"""``/metrics``: the API process's Prometheus metrics, on the API's own port (not in the OpenAPI document).

One uvicorn worker: the process's own registry. Several (``NEWSFLOW_API_WORKERS``): every
worker's counts, gathered by prometheus-client's multiprocess collector from
``PROMETHEUS_MULTIPROC_DIR`` (``shared.metrics.metrics_registry``; ``newsflow api`` sets it up).
The store's metrics are on its own port (``NEWSFLOW_STORE_METRICS_PORT``).
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
