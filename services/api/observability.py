"""Request metrics for the read API: counts by route template and status, and a latency histogram.

A pure ASGI middleware (no per-request task or body buffering); the route template comes from the
matched route, so ``/articles/{article_id}`` is one label value however many ids are requested.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.metrics import API_LATENCY_SECONDS, API_REQUESTS

UNMATCHED_ROUTE = "unmatched"


class RequestMetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED_ROUTE
            method = str(scope.get("method", ""))
            API_REQUESTS.labels(route, method, str(status)).inc()
            API_LATENCY_SECONDS.labels(route, method).observe(time.perf_counter() - started)
