"""Every PromQL expression of the Grafana dashboard returns data from a real Prometheus scraping a real stack.

Prometheus finds the services through the file_sd targets file ``newsflow run`` writes (the
README's one config line), and loads the alert rules compose's Prometheus loads. Grafana's own
variables are replaced by what Grafana would send for a short time range, the dashboard's
template variables by their "All"; a "no data" panel here would be a "no data" panel for users.

Exporter panels: Debian's postgres_exporter watches the pipeline's database here (when installed),
so the Postgres panels are tested like the others. No kafka_exporter runs (Debian ships none and
the embedded broker is Tansu), so the panels titled "(kafka_exporter)" are only checked to be
valid PromQL; the broker's traffic per topic is tested through newsflow's own client counters.
"""

from __future__ import annotations

import json
import math
import re

import pytest

from tests.conftest import REPO_ROOT
from tests.metrics.conftest import EXPECTED_TARGETS, SeededStack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DASHBOARD = REPO_ROOT / "grafana" / "dashboards" / "newsflow-pipeline.json"
# What Grafana substitutes for its built-in variables, sized so the windows cover the whole test run.
GRAFANA_VARIABLES = {"$__rate_interval": "2m", "$__range": "1h", "$__interval": "15s"}
# No kafka_exporter runs beside `newsflow run` (see the module's docstring).
NO_EXPORTER_HERE = "(kafka_exporter)"
POSTGRES_EXPORTER = "(postgres_exporter)"
LABEL_VALUES = re.compile(r"label_values\((?P<selector>.+),\s*(?P<label>\w+)\)")


def _dashboard() -> dict[str, object]:
    dashboard: dict[str, object] = json.loads(DASHBOARD.read_text())
    return dashboard


def dashboard_expressions() -> list[tuple[str, str]]:
    return [
        (panel["title"], target["expr"])
        for panel in _dashboard()["panels"]  # type: ignore[attr-defined]
        for target in panel.get("targets", [])
    ]


def substitute(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    # Every template variable at its "All" (allValue ".*"); the test below checks there are no others.
    variables = {v["name"] for v in _dashboard()["templating"]["list"]}  # type: ignore[index]
    for name in variables:
        expr = expr.replace(f"${name}", ".*")
    leftover = re.findall(r"\$\w+", expr)
    assert not leftover, f"unknown dashboard variable(s) {leftover} in {expr}"
    return expr


def _values(result: list[dict[str, object]]) -> list[float]:
    return [float(sample["value"][1]) for sample in result]  # type: ignore[index]


@pytest.fixture
def stack(seeded_stack: SeededStack) -> SeededStack:
    if seeded_stack.prometheus is None:
        pytest.skip("prometheus is not installed (Debian: apt-get install prometheus; `make test` does it as root)")
    return seeded_stack


def test_every_dashboard_expression_returns_data(stack: SeededStack) -> None:
    assert stack.prometheus is not None
    expressions = dashboard_expressions()
    assert len(expressions) >= 40, "throughput, latency, files, broker, API, database and processes"
    excepted = {NO_EXPORTER_HERE} | (set() if stack.postgres_exporter else {POSTGRES_EXPORTER})
    checked, empty = 0, []
    for title, expr in expressions:
        result = stack.prometheus.query(substitute(expr))  # raises on invalid PromQL, excepted or not
        if any(mark in title for mark in excepted):
            continue
        checked += 1
        if not result:
            empty.append(f"{title}: {expr}")
    assert not empty, "expressions without data:\n" + "\n".join(empty)
    assert checked >= 40 if stack.postgres_exporter else checked >= 30


def test_every_template_variable_has_values(stack: SeededStack) -> None:
    assert stack.prometheus is not None
    for variable in _dashboard()["templating"]["list"]:  # type: ignore[index]
        match = LABEL_VALUES.fullmatch(variable["query"]["query"])
        assert match, variable["name"]
        selector = substitute(match["selector"])
        result = stack.prometheus.query(f"count by ({match['label']}) ({selector})")
        values = {sample["metric"].get(match["label"]) for sample in result} - {None}
        assert values, f"{variable['name']}: no value of {match['label']} in {selector}"


def test_the_annotations_are_valid_and_mark_each_process_start(stack: SeededStack) -> None:
    assert stack.prometheus is not None
    annotations = [a for a in _dashboard()["annotations"]["list"] if a.get("expr")]  # type: ignore[index]
    for annotation in annotations:
        stack.prometheus.query(substitute(annotation["expr"]))
    starts = next(a for a in annotations if "process_start_time_seconds" in a["expr"])
    services = {s["metric"]["service"] for s in stack.prometheus.query(starts["expr"])}
    assert services == {"ingest", "enrich", "store", "api"}


def test_no_alert_fires_on_a_healthy_stack(stack: SeededStack) -> None:
    assert stack.prometheus is not None
    rules = stack.prometheus.query("count(ALERTS) or vector(0)")
    firing = stack.prometheus.query('ALERTS{alertstate="firing"}')
    assert not firing, firing
    assert rules is not None


def test_the_seeds_show_up_in_the_pipeline_figures(stack: SeededStack) -> None:
    assert stack.prometheus is not None
    query = stack.prometheus.query
    assert _values(query('up{job=~"newsflow.*"}')) == [1.0] * EXPECTED_TARGETS
    services = {sample["metric"]["service"] for sample in query('up{job=~"newsflow.*"}')}
    assert services == {"ingest", "enrich", "store", "api"}

    stored = _values(query(substitute('sum(increase(newsflow_store_upserts_total{table="articles"}[$__range]))')))
    assert stored and stored[0] >= stack.seeds * 0.9, "increase() extrapolates, but not by much over 1 s scrapes"
    for expr in (
        "sum(rate(newsflow_ingest_articles_published_total[$__rate_interval]))",
        "sum(rate(newsflow_enrich_articles_total[$__rate_interval]))",
        'sum(rate(newsflow_store_upserts_total{table="articles"}[$__rate_interval]))',
        'sum(rate(newsflow_kafka_produced_messages_total{topic="news.raw.v1"}[$__rate_interval]))',
        'sum(rate(newsflow_kafka_consumed_bytes_total{topic="news.enriched.v1"}[$__rate_interval]))',
    ):
        assert _values(query(substitute(expr)))[0] > 0, expr

    latencies = []
    for quantile in ("0.50", "0.95", "0.99"):
        expr = (
            f"histogram_quantile({quantile}, sum by (le) "
            '(rate(newsflow_store_end_to_end_seconds_bucket{origin="live"}[2m])))'
        )
        (value,) = _values(query(expr))
        assert math.isfinite(value) and value > 0, expr
        latencies.append(value)
    assert latencies == sorted(latencies), "p50 <= p95 <= p99"

    entities = {
        s["metric"]["type"]: float(s["value"][1])
        for s in query(substitute("sum by (type) (increase(newsflow_enrich_entities_total[$__range]))"))
    }
    assert entities["PERSON"] > 0 and "LAW" in entities, "every entity type is a series, tagged or not"
    reasons = query(substitute("sum by (reason) (increase(newsflow_ingest_files_rejected_total[$__range]))"))
    assert {s["metric"]["reason"] for s in reasons} >= {"binary", "empty", "invalid_json"}
    assert _values(query("sum(newsflow_consumer_lag_messages)")) == [0.0], "everything consumed"
    memory = query('process_resident_memory_bytes{job="newsflow"}')
    assert {s["metric"]["service"] for s in memory} == {"ingest", "enrich", "store", "api"}
    assert all(float(s["value"][1]) > 10e6 for s in memory), "a real process's resident memory"
    if stack.postgres_exporter:
        assert _values(query("pg_up")) == [1.0]
