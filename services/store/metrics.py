"""The store's own Prometheus metrics (``newsflow_store_...``); the consumer loop's are in ``shared.metrics``.

The read API's request metrics keep their ``newsflow_store_api_`` names but live with the API
(``services.api.metrics``). Labels stay bounded: a table name, a handler (consumer) name, a state.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from shared.consumer import LoopState, LoopStatus
from shared.events import ORIGINS
from shared.metrics import init_labels

UPSERT_TABLES = ("articles", "entities", "article_entities", "dead_letters")
# The store's two consumers (and their handlers), by the names /health reports them under.
HANDLERS = ("articles", "dead_letters")
CONSUMER_STATES: tuple[LoopState, ...] = ("starting", "ok", "degraded", "stopped")
CONSUMER_STATE_METRIC = "newsflow_store_consumer_state"

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
init_labels(UPSERTS, [(table,) for table in UPSERT_TABLES])
init_labels(END_TO_END_SECONDS, [(origin,) for origin in ORIGINS])
init_labels(UNCHANGED, [(handler,) for handler in HANDLERS])
init_labels(DB_ERRORS, [(handler, kind) for handler in HANDLERS for kind in ("transient", "permanent")])


class ConsumerStates(Collector):
    """``newsflow_store_consumer_state``: 1 for the state each consumer is in, 0 for the others.

    How the API's ``/health`` learns the consumers' states (through the dashboard's sampler, like
    ingest's quarantine) now that they run in another process. Read from the loops at each scrape,
    and registered only while the store runs (``services.store.main``): a process that runs no
    consumer exports none. Bounded labels: why a consumer is degraded is in the store's log and on
    its own ``/health`` (``services.store.health``), never a label value.
    """

    def __init__(self, statuses: Mapping[str, LoopStatus]) -> None:
        self._statuses = statuses

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            CONSUMER_STATE_METRIC,
            "1 for the state each store consumer is in (starting, ok, degraded, stopped), 0 for the others.",
            labels=["consumer", "state"],
        )
        for consumer, status in self._statuses.items():
            for state in CONSUMER_STATES:
                family.add_metric([consumer, state], 1.0 if status.state == state else 0.0)
        yield family
