"""The store's own Prometheus metrics (``newsflow_store_...``); the consumer loop's are in ``shared.metrics``.

Labels stay bounded: a table name, a handler name, a route *template* (``/articles/{article_id}``,
never the id), a method and a status code.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from shared.events import ORIGINS
from shared.metrics import init_labels

UPSERT_TABLES = ("articles", "entities", "article_entities", "dead_letters")
HANDLERS = ("articles", "dead_letters")

UPSERTS = Counter(
    "newsflow_store_upserts_total",
    "Rows written (inserted or changed) by the store's consumers, by table.",
    ["table"],
)
UNCHANGED = Counter(
    "newsflow_store_redeliveries_total",
    "Events that changed nothing because the same or a newer version was already stored.",
    ["handler"],
)
TRANSACTION_SECONDS = Histogram(
    "newsflow_store_transaction_seconds",
    "Time for one batch's database transaction, commit included.",
    ["handler"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DB_ERRORS = Counter(
    "newsflow_store_db_errors_total",
    "Database failures in the writer, by kind (transient ones are retried).",
    ["handler", "kind"],
)
END_TO_END_SECONDS = Histogram(
    "newsflow_store_end_to_end_seconds",
    "From ingest first seeing the file (article.received_at) to the article's first commit in Postgres, by "
    "origin: live (dropped into the inbox), backfill (ingest --once), replay (timed from the first arrival).",
    ["origin"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 30, 60, 120, 300),
)
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

init_labels(UPSERTS, [(table,) for table in UPSERT_TABLES])
init_labels(END_TO_END_SECONDS, [(origin,) for origin in ORIGINS])
init_labels(UNCHANGED, [(handler,) for handler in HANDLERS])
init_labels(DB_ERRORS, [(handler, kind) for handler in HANDLERS for kind in ("transient", "permanent")])
