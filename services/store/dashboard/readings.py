"""What the dashboard keeps of one scrape: a flat ``key -> value`` reading of the series it charts.

Each ``SeriesSpec`` is a tiny PromQL ``sum by (label) (metric{...})``: it picks one sample name,
optionally filters on labels and splits on one label (``outcome.reprint``, ``e2e.le.0.5``).
Counters are later turned into increases (reset-aware, per endpoint); gauges are combined across
endpoints as they are (summed, or the max where every replica reports the same thing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from services.store.dashboard.scrape import Sample

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


# Files ingest set aside after failing on them repeatedly.
QUARANTINED = "inbox.quarantined"

# /health answers 503 while the store is starting; that is its job (a probe), not a failed request.
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
    SeriesSpec("rejects", "newsflow_ingest_files_rejected_total", "counter", by="reason"),
    SeriesSpec("dead_letters", "newsflow_dead_letters_total", "counter", by="stage"),
    SeriesSpec("consumer_errors", "newsflow_consumer_errors_total", "counter"),
    SeriesSpec("api.requests", "newsflow_store_api_requests_total", "counter"),
    SeriesSpec("api.errors", "newsflow_store_api_requests_total", "counter", where=_server_error),
    SeriesSpec("api.le", "newsflow_store_api_request_seconds_bucket", "counter", by="le"),
    SeriesSpec("e2e.le", "newsflow_store_end_to_end_seconds_bucket", "counter", by="le"),
    SeriesSpec("lag", "newsflow_consumer_lag_messages", "gauge_sum", by="group"),
    # Every ingest replica watches the same inbox: the backlog is theirs in common, not a sum.
    SeriesSpec("inbox.backlog", "newsflow_ingest_inbox_backlog_files", "gauge_max"),
    SeriesSpec("inbox.oldest_age", "newsflow_ingest_inbox_oldest_file_age_seconds", "gauge_max"),
    # Replicas share the quarantine folder too; /health reads this one (see Sampler.latest).
    SeriesSpec(QUARANTINED, "newsflow_ingest_quarantined_files", "gauge_max"),
)
_BY_SAMPLE: dict[str, list[SeriesSpec]] = {}
for _spec in SPECS:
    _BY_SAMPLE.setdefault(_spec.sample, []).append(_spec)
_KIND_BY_PREFIX = {spec.prefix: spec.kind for spec in SPECS}

# Which service a scrape came from, told by the metric names it exposes.
_SERVICE_PREFIXES = (("newsflow_ingest_", "ingest"), ("newsflow_enrich_", "enrich"), ("newsflow_store_", "store"))


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
