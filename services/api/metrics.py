"""The read API's Prometheus metrics: requests by route template, method and status, and their latency.

They keep the ``newsflow_store_api_`` names they had when the API ran inside the store, so the
Grafana dashboard, the alert rules and anyone's queries go on working. Labels stay bounded: a route
*template* (``/articles/{article_id}``, never the id), a method and a status code.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

API_REQUESTS = Counter(
    "newsflow_store_api_requests_total",
    "Read API requests, by route template, method and status code.",
    ["route", "method", "status"],
)
API_LATENCY_SECONDS = Histogram(
    "newsflow_store_api_request_seconds",
    "Read API request latency, by route template and method.",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
