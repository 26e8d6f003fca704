"""What the dashboard keeps of one scrape: a flat ``key -> value`` reading of the series it charts.

Each ``SeriesSpec`` is a tiny PromQL ``sum by (label) (metric{...})``: it picks one sample name,
optionally filters on labels and splits on one label (``outcome.reprint``, ``e2e.le.0.5``).
Counters are later turned into increases (reset-aware, per endpoint); gauges are combined across
endpoints as they are (summed, or the max where every replica reports the same thing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, get_args

from services.api.dashboard.scrape import Sample
from shared.consumer import LoopState

Kind = Literal["counter", "gauge_sum", "gauge_max"]
Reading = dict[str, float]
LabelFilter = Callable[[Mapping[str, str]], bool]


@dataclass(frozen=True)
class SeriesSpec:
    prefix: str
    sample: str
    kind: Kind
    by: str | None = None
    where: LabelFilter | None = None

    def key(self, labels: Mapping[str, str]) -> str | None:
        if self.where is not None and not self.where(labels):
            return None
        if self.by is None:
            return self.prefix
        value = labels.get(self.by)
        return None if value is None else f"{self.prefix}.{value}"


def _label_is(name: str, value: str) -> LabelFilter:
    return lambda labels: labels.get(name) == value


def _label_in(name: str, values: frozenset[str]) -> LabelFilter:
    return lambda labels: labels.get(name) in values


# Files ingest set aside after failing on them repeatedly.
QUARANTINED = "inbox.quarantined"
# Files held in ingest's claim folders, for how long, and how many longer than its stuck threshold.
CLAIMED = "inbox.claimed"
OLDEST_CLAIM_AGE = "inbox.claim_age"
STUCK = "inbox.stuck"
# End-to-end latency of files dropped into the inbox, and of one-shot commands' files apart:
# a replayed file is timed from its first arrival, days ago maybe.
LIVE_LATENCY = "e2e.le"
CATCHUP_LATENCY = "e2e_catchup.le"

# The store's consumers' states, as /health reports them (see services.api.consumers).
CONSUMER_STATES = "consumers"

# /health answers 503 while the store is starting (or not read yet); that is its job (a probe), not a failed request.
PROBE_ROUTES = frozenset({"/health"})


def _server_error(labels: Mapping[str, str]) -> bool:
    return labels.get("status", "").startswith("5") and labels.get("route") not in PROBE_ROUTES


SPECS: tuple[SeriesSpec, ...] = (
    SeriesSpec("ingest.files", "newsflow_ingest_files_published_total", "counter"),
    SeriesSpec("ingest.articles", "newsflow_ingest_articles_published_total", "counter"),
    SeriesSpec("enrich.articles", "newsflow_enrich_articles_total", "counter"),
    SeriesSpec("store.articles", "newsflow_store_upserts_total", "counter", where=_label_is("table", "articles")),
    SeriesSpec("outcome", "newsflow_enrich_outcome_total", "counter", by="outcome"),
    SeriesSpec("entities", "newsflow_enrich_entities_total", "counter", by="type"),
    SeriesSpec("dead_letters", "newsflow_dead_letters_total", "counter", by="stage"),
    SeriesSpec("consumer_errors", "newsflow_consumer_errors_total", "counter"),
    SeriesSpec("api.requests", "newsflow_store_api_requests_total", "counter"),
    SeriesSpec("api.errors", "newsflow_store_api_requests_total", "counter", where=_server_error),
    SeriesSpec("api.le", "newsflow_store_api_request_seconds_bucket", "counter", by="le"),
    SeriesSpec(
        LIVE_LATENCY, "newsflow_store_end_to_end_seconds_bucket", "counter", by="le", where=_label_is("origin", "live")
    ),
    SeriesSpec(
        CATCHUP_LATENCY,
        "newsflow_store_end_to_end_seconds_bucket",
        "counter",
        by="le",
        where=_label_in("origin", frozenset({"backfill", "replay"})),
    ),
    SeriesSpec("lag", "newsflow_consumer_lag_messages", "gauge_sum", by="group"),
    # Every ingest replica watches the same inbox: the backlog is theirs in common, not a sum.
    SeriesSpec("inbox.backlog", "newsflow_ingest_inbox_backlog_files", "gauge_max"),
    SeriesSpec("inbox.oldest_age", "newsflow_ingest_inbox_oldest_file_age_seconds", "gauge_max"),
    # Replicas share the quarantine folder too; /health reads this one (see Sampler.latest).
    SeriesSpec(QUARANTINED, "newsflow_ingest_quarantined_files", "gauge_max"),
    # Every replica measures the whole claims root (all replicas' folders): the max, not a sum.
    SeriesSpec(CLAIMED, "newsflow_ingest_claimed_files", "gauge_max"),
    SeriesSpec(OLDEST_CLAIM_AGE, "newsflow_ingest_oldest_claim_age_seconds", "gauge_max"),
    SeriesSpec(STUCK, "newsflow_ingest_stuck_files", "gauge_max"),
    # The store's consumers: CONSUMER_STATES.<state>.<consumer> is 1 for the state each one is in.
    *(
        SeriesSpec(
            f"{CONSUMER_STATES}.{state}",
            "newsflow_store_consumer_state",
            "gauge_max",
            by="consumer",
            where=_label_is("state", state),
        )
        for state in get_args(LoopState)
    ),
)
_BY_SAMPLE: dict[str, list[SeriesSpec]] = {}
for _spec in SPECS:
    _BY_SAMPLE.setdefault(_spec.sample, []).append(_spec)
_KIND_BY_PREFIX = {spec.prefix: spec.kind for spec in SPECS}

# Which service a scrape came from, told by the metric names it exposes.
# The API's request metrics kept their store names (newsflow_store_api_*): told apart first.
_SERVICE_PREFIXES = (
    ("newsflow_ingest_", "ingest"),
    ("newsflow_enrich_", "enrich"),
    ("newsflow_store_api_", "api"),
    ("newsflow_store_", "store"),
)


def reduce_samples(samples: Iterable[Sample]) -> Reading:
    """Sum every sample into the keys of the specs it matches."""
    reading: Reading = {}
    for sample in samples:
        for spec in _BY_SAMPLE.get(sample.name, ()):
            key = spec.key(sample.labels)
            if key is not None:
                reading[key] = reading.get(key, 0.0) + sample.value
    return reading


def kind_of(key: str) -> Kind:
    """The kind of a reading key (``outcome.reprint`` -> the ``outcome`` spec's kind)."""
    for prefix, kind in _KIND_BY_PREFIX.items():
        if key == prefix or key.startswith(prefix + "."):
            return kind
    raise KeyError(key)


def infer_service(samples: Iterable[Sample]) -> str | None:
    for sample in samples:
        for prefix, service in _SERVICE_PREFIXES:
            if sample.name.startswith(prefix):
                return service
    return None
