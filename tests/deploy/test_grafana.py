"""Grafana's provisioning finds the Prometheus service and the dashboards folder compose mounts."""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from tests.deploy import stack

PROVISIONING = stack.GRAFANA_DIR / "provisioning"
DASHBOARDS = stack.GRAFANA_DIR / "dashboards"


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
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] in uids, f"{path.name}: panel {panel.get('title')}"


def test_pipeline_dashboard_is_the_home_dashboard_and_shows_the_newsflow_targets() -> None:
    dashboard = json.loads((DASHBOARDS / "newsflow-pipeline.json").read_text())
    assert dashboard["title"] == "newsflow pipeline"
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert 'up{job=~"newsflow.*"}' in expressions
    home = stack.services()["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    target = PurePosixPath(_grafana_mounts()["grafana/dashboards"]) / "newsflow-pipeline.json"
    assert PurePosixPath(home) == target
