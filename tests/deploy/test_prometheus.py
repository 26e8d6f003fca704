"""Prometheus scrapes every newsflow service on the port compose gives it, and its config is valid."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import PurePosixPath
from typing import Any

import pytest

from tests.deploy import stack

# Where each service serves /metrics, as shared/config.py documents it (the API: on its own port).
METRICS_PORT_SETTING = {
    "ingest": "ingest_metrics_port",
    "enrich": "enrich_metrics_port",
    "store": "store_metrics_port",
    "api": "api_port",
}
# The placeholder dashboard selects newsflow jobs with this regex; the real one will too.
NEWSFLOW_JOB = re.compile(r"newsflow.*")


def _jobs() -> dict[str, dict[str, Any]]:
    config = stack.load_yaml(stack.PROMETHEUS_CONFIG)
    return {job["job_name"]: job for job in config["scrape_configs"]}


def _dns_targets(job: dict[str, Any]) -> list[tuple[str, int]]:
    return [(name, int(sd["port"])) for sd in job.get("dns_sd_configs", []) for name in sd["names"]]


def test_every_long_running_newsflow_service_is_scraped() -> None:
    scraped = {name for job in _jobs().values() for name, _ in _dns_targets(job)}
    long_running = set(stack.newsflow_services()) - stack.one_shot_services()
    assert long_running == set(METRICS_PORT_SETTING)
    assert long_running <= scraped


@pytest.mark.parametrize("service", sorted(METRICS_PORT_SETTING))
def test_scrape_port_is_the_port_compose_configures(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = stack.container_settings(service, monkeypatch)
    expected_port = getattr(settings, METRICS_PORT_SETTING[service])
    jobs = [job for job in _jobs().values() if any(name == service for name, _ in _dns_targets(job))]
    assert len(jobs) == 1, f"exactly one job should scrape {service}"
    job = jobs[0]
    assert NEWSFLOW_JOB.fullmatch(job["job_name"]), job["job_name"]
    assert _dns_targets(job) == [(service, expected_port)]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    # DNS service discovery finds every replica; a static target would reach only one of them.
    assert all(sd["type"] == "A" for sd in job["dns_sd_configs"])


def test_scraped_names_are_compose_services() -> None:
    for job in _jobs().values():
        for name, _ in _dns_targets(job):
            assert name in stack.services(), f"{job['job_name']} scrapes {name}, which compose does not run"


def test_prometheus_reads_the_mounted_config() -> None:
    prometheus = stack.services()["prometheus"]
    flag = next(arg for arg in prometheus["command"] if arg.startswith("--config.file="))
    mounts = dict(volume.split(":")[:2] for volume in prometheus["volumes"])
    source = mounts.get("./deploy/prometheus/prometheus.yml") or ""
    assert PurePosixPath(source) == PurePosixPath(flag.split("=", 1)[1])


def test_promtool_accepts_the_config() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian: apt-get install prometheus); config not checked by promtool")
    result = subprocess.run(
        [promtool, "check", "config", str(stack.PROMETHEUS_CONFIG)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


# Where the exporters listen (their images' defaults), and the job the dashboards and rules name.
EXPORTERS = {"kafka": ("kafka-exporter", 9308), "postgres": ("postgres-exporter", 9187)}


@pytest.mark.parametrize("job", sorted(EXPORTERS))
def test_each_exporter_is_a_compose_service_prometheus_scrapes(job: str) -> None:
    service, port = EXPORTERS[job]
    targets = [target for sc in _jobs()[job]["static_configs"] for target in sc["targets"]]
    assert targets == [f"{service}:{port}"]
    assert service in stack.services()
    image = stack.services()[service]["image"]
    assert image.startswith(("quay.io/prometheuscommunity/postgres-exporter:", "danielqsj/kafka-exporter:"))
    assert not image.endswith(":latest"), "a pinned version"


def test_the_postgres_exporter_reaches_the_database_compose_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    env = stack.compose_env("postgres-exporter")
    # The exporter reads the server's statistics as the schema's owner, the role migrations use
    # (the services' writer and API roles cannot see every statistics view).
    settings = stack.container_settings("migrate", monkeypatch)
    url = str(settings.database_url)
    assert url.endswith(f"@{env['DATA_SOURCE_URI'].split('?')[0]}")
    assert f"//{env['DATA_SOURCE_USER']}:{env['DATA_SOURCE_PASS']}@" in url
    assert stack.services()["postgres-exporter"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_the_kafka_exporter_reaches_the_broker_compose_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    command = stack.services()["kafka-exporter"]["command"]
    settings = stack.container_settings("ingest", monkeypatch)
    assert f"--kafka.server={settings.kafka_bootstrap_servers}" in command


def test_newsflow_targets_get_the_labels_newsflow_run_gives() -> None:
    for name, job in _jobs().items():
        if not _dns_targets(job):
            continue
        labels = {rule["target_label"]: rule["source_labels"] for rule in job["relabel_configs"]}
        assert labels == {"service": ["__meta_dns_name"], "replica": ["__address__"]}, name
