"""Every PromQL expression of the Grafana dashboard returns data from a real Prometheus scraping a real stack.

Prometheus finds the services through the file_sd targets file ``newsflow run`` writes (the
README's one config line). Grafana's own variables are replaced by what Grafana would send for
a short time range; a "no data" panel here would be a "no data" panel for users.
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


def dashboard_expressions() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [(panel["title"], target["expr"]) for panel in dashboard["panels"] for target in panel.get("targets", [])]


def substitute(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
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
    assert len(expressions) >= 20, "the dashboard covers every figure of issue 6"
    empty = [f"{title}: {expr}" for title, expr in expressions if not stack.prometheus.query(substitute(expr))]
    assert not empty, "expressions without data:\n" + "\n".join(empty)


def test_the_seeds_show_up_in_the_pipeline_figures(stack: SeededStack) -> None:
    assert stack.prometheus is not None
    query = stack.prometheus.query
    assert _values(query('up{job=~"newsflow.*"}')) == [1.0] * EXPECTED_TARGETS
    services = {sample["metric"]["service"] for sample in query('up{job=~"newsflow.*"}')}
    assert services == {"ingest", "enrich", "store"}

    stored = _values(query(substitute('sum(increase(newsflow_store_upserts_total{table="articles"}[$__range]))')))
    assert stored and stored[0] >= stack.seeds * 0.9, "increase() extrapolates, but not by much over 1 s scrapes"
    for expr in (
        "sum(rate(newsflow_ingest_articles_published_total[$__rate_interval]))",
        "sum(rate(newsflow_enrich_articles_total[$__rate_interval]))",
        'sum(rate(newsflow_store_upserts_total{table="articles"}[$__rate_interval]))',
    ):
        assert _values(query(substitute(expr)))[0] > 0, expr

    latencies = []
    for quantile in ("0.50", "0.95", "0.99"):
        expr = f"histogram_quantile({quantile}, sum by (le) (rate(newsflow_store_end_to_end_seconds_bucket[2m])))"
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
