"""``/metrics``: the process's Prometheus metrics, on the API's own port (not in the OpenAPI document)."""

from __future__ import annotations

import os

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

router = APIRouter()


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


@router.get("/metrics", include_in_schema=False)
def metrics_route() -> Response:
    return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)
