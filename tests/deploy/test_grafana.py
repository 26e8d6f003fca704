"""Grafana's provisioning finds the Prometheus service and the dashboards folder compose mounts; the
dashboard is what deploy/grafana_dashboard.py writes, with units, variables and annotations (issue 25)."""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from deploy import grafana_dashboard
from tests.deploy import stack
from tests.deploy.metric_names import unknown_newsflow_names

PROVISIONING = stack.GRAFANA_DIR / "provisioning"
DASHBOARDS = stack.GRAFANA_DIR / "dashboards"


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """The panels that draw something (rows only group them)."""
    return [panel for panel in dashboard["panels"] if panel["type"] != "row"]


def _pipeline_dashboard() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads((DASHBOARDS / "newsflow-pipeline.json").read_text())
    return dashboard


def _grafana_mounts() -> dict[str, str]:
    """Host path -> container path of Grafana's bind mounts."""
    mounts = {}
    for volume in stack.services()["grafana"]["volumes"]:
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            mounts[source.removeprefix("./")] = target
    return mounts


def _datasources() -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    for path in sorted((PROVISIONING / "datasources").glob("*.y*ml")):
        found.extend(stack.load_yaml(path)["datasources"])
    return found


def test_provisioning_folder_is_mounted_where_grafana_reads_it() -> None:
    assert _grafana_mounts()["grafana/provisioning"] == "/etc/grafana/provisioning"


def test_datasource_points_at_the_prometheus_service() -> None:
    (source,) = [d for d in _datasources() if d["type"] == "prometheus"]
    url = urlsplit(str(source["url"]))
    assert url.hostname == "prometheus" and "prometheus" in stack.services()
    published = [str(port).rsplit(":", 1)[1] for port in stack.services()["prometheus"]["ports"]]
    assert str(url.port) in published


def test_dashboard_provider_reads_the_mounted_dashboards_folder() -> None:
    providers = stack.load_yaml(PROVISIONING / "dashboards" / "newsflow.yml")["providers"]
    (provider,) = providers
    assert provider["type"] == "file"
    assert PurePosixPath(provider["options"]["path"]) == PurePosixPath(_grafana_mounts()["grafana/dashboards"])


def test_dashboards_are_valid_and_use_the_provisioned_datasource() -> None:
    uids = {d["uid"] for d in _datasources()}
    files = sorted(DASHBOARDS.glob("*.json"))
    assert files
    for path in files:
        dashboard = json.loads(path.read_text())
        assert dashboard["uid"] and dashboard["title"], path.name
        for panel in _panels(dashboard):
            assert panel["datasource"]["uid"] in uids, f"{path.name}: panel {panel.get('title')}"


def test_pipeline_dashboard_is_the_home_dashboard_and_shows_the_newsflow_targets() -> None:
    dashboard = json.loads((DASHBOARDS / "newsflow-pipeline.json").read_text())
    assert dashboard["title"] == "newsflow pipeline"
    expressions = [target["expr"] for panel in _panels(dashboard) for target in panel["targets"]]
    assert 'up{job=~"newsflow.*"}' in expressions
    home = stack.services()["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    target = PurePosixPath(_grafana_mounts()["grafana/dashboards"]) / "newsflow-pipeline.json"
    assert PurePosixPath(home) == target


def test_the_dashboard_file_is_what_the_generator_writes() -> None:
    assert (DASHBOARDS / "newsflow-pipeline.json").read_text() == grafana_dashboard.render(), (
        "edit deploy/grafana_dashboard.py and run: .venv/bin/python -m deploy.grafana_dashboard"
    )


def test_every_panel_says_its_unit() -> None:
    for panel in _panels(_pipeline_dashboard()):
        defaults = panel["fieldConfig"]["defaults"]
        unit = defaults.get("unit")
        assert unit, panel["title"]
        # "none" only where the value is a state drawn through value mappings (up / down).
        assert unit != "none" or defaults.get("mappings"), panel["title"]
        assert panel.get("description"), panel["title"]


def test_the_template_variables_cover_topic_group_instance_and_replica() -> None:
    dashboard = _pipeline_dashboard()
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert set(variables) == {"service", "instance", "replica", "topic", "group"}
    for variable in variables.values():
        assert variable["includeAll"] and variable["allValue"] == ".*", variable["name"]
        assert variable["query"]["query"].startswith("label_values("), variable["name"]
    used = {
        name
        for panel in _panels(dashboard)
        for target in panel["targets"]
        for name in re.findall(r"\$(?!__)(\w+)", target["expr"])
    }
    assert used == set(variables), "every variable filters some panel, and no panel names an unknown one"


def test_annotations_mark_process_starts_and_rebalances() -> None:
    annotations = [a for a in _pipeline_dashboard()["annotations"]["list"] if a.get("expr")]
    starts = next(a for a in annotations if "process_start_time_seconds" in a["expr"])
    assert starts["useValueForTime"], "each start is marked at the time the process started"
    assert any("newsflow_consumer_rebalances_total" in a["expr"] for a in annotations)


def test_the_broker_database_and_process_panels_are_there() -> None:
    expressions = " ".join(target["expr"] for panel in _panels(_pipeline_dashboard()) for target in panel["targets"])
    for metric in (
        "kafka_brokers",
        "kafka_topic_partitions",
        "kafka_topic_partition_under_replicated_partition",
        "kafka_topic_partition_current_offset",
        "kafka_consumergroup_lag",
        "newsflow_kafka_produced_bytes_total",
        "newsflow_kafka_consumed_bytes_total",
        "pg_up",
        "pg_stat_database_numbackends",
        "pg_stat_database_xact_commit",
        "pg_database_size_bytes",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
    ):
        assert metric in expressions, metric


def test_panels_use_only_metrics_newsflow_exports() -> None:
    for panel in _panels(_pipeline_dashboard()):
        for target in panel["targets"]:
            assert not unknown_newsflow_names(target["expr"]), f"{panel['title']}: {target['expr']}"


def test_the_latency_tile_is_the_live_one() -> None:
    (tile,) = [p for p in _panels(_pipeline_dashboard()) if p["title"].startswith("End-to-end p95")]
    assert 'origin="live"' in tile["targets"][0]["expr"]
