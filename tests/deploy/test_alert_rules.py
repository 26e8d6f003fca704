"""The Prometheus alert rules: valid, mounted where Prometheus reads them, on metrics that exist, each one tested.

``promtool test rules`` runs deploy/prometheus/rules.test.yml, which feeds each alert series that
must make it fire and series that must not (issue 25). promtool comes from Debian's
``prometheus`` package, which ``make test`` installs (``make system-deps``).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import PurePosixPath
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tests.deploy import stack
from tests.deploy.metric_names import unknown_newsflow_names

RULES = REPO_ROOT / "deploy" / "prometheus" / "rules.yml"
RULE_TESTS = REPO_ROOT / "deploy" / "prometheus" / "rules.test.yml"
OPERATIONS = REPO_ROOT / "docs" / "operations.md"
# What the issue asks to alert on, and the alert that does.
REQUIRED_ALERTS = {
    "consumer lag growing": "NewsflowConsumerLagGrowing",
    "no throughput while files wait": "NewsflowNoThroughputWhileFilesWait",
    "DLQ rate": "NewsflowDeadLetters",
    "rejects rate": "NewsflowRejectsHigh",
    "service down": "NewsflowServiceDown",
    "API 5xx": "NewsflowApiErrors",
    "API p99": "NewsflowApiSlow",
    "database down": "NewsflowDatabaseDown",
}


def _alerts() -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for group in stack.load_yaml(RULES)["groups"] for rule in group["rules"]}


def _promtool() -> str:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian: apt-get install prometheus; `make test` does it as root)")
    return promtool


def test_promtool_checks_the_rules() -> None:
    result = subprocess.run([_promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_rule_passes_its_promtool_tests() -> None:
    result = subprocess.run(
        [_promtool(), "test", "rules", str(RULE_TESTS)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_is_shown_firing_and_quiet_in_the_tests() -> None:
    cases = [case for test in stack.load_yaml(RULE_TESTS)["tests"] for case in test.get("alert_rule_test", [])]
    firing = {case["alertname"] for case in cases if case.get("exp_alerts")}
    quiet = {case["alertname"] for case in cases if not case.get("exp_alerts")}
    assert set(_alerts()) - firing == set(), "an alert no test shows firing"
    untested_quiet = set(REQUIRED_ALERTS.values()) - quiet - {"NewsflowRejectsHigh", "NewsflowDeadLetters"}
    assert not untested_quiet, "each required alert also has a case where it must stay quiet"
    assert {"NewsflowRejectsHigh", "NewsflowDeadLetters"} <= quiet


def test_the_issues_alerts_exist_and_say_what_to_do() -> None:
    alerts = _alerts()
    for need, name in REQUIRED_ALERTS.items():
        assert name in alerts, need
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in ("warning", "critical"), name
        assert rule["annotations"]["summary"] and len(rule["annotations"]["description"]) > 40, name


def test_rules_use_only_metrics_newsflow_exports() -> None:
    for name, rule in _alerts().items():
        assert not unknown_newsflow_names(rule["expr"]), f"{name}: {unknown_newsflow_names(rule['expr'])}"


def test_prometheus_loads_the_rules_compose_mounts() -> None:
    config = stack.load_yaml(stack.PROMETHEUS_CONFIG)
    (rule_file,) = config["rule_files"]
    prometheus = stack.services()["prometheus"]
    config_flag = next(arg for arg in prometheus["command"] if arg.startswith("--config.file="))
    config_dir = PurePosixPath(config_flag.split("=", 1)[1]).parent
    mounts = dict(volume.split(":")[:2] for volume in prometheus["volumes"])
    assert PurePosixPath(mounts["./deploy/prometheus/rules.yml"]) == config_dir / rule_file


def test_operations_guide_explains_every_alert() -> None:
    guide = OPERATIONS.read_text()
    missing = [name for name in _alerts() if f"`{name}`" not in guide]
    assert not missing, f"docs/operations.md does not explain {missing}"
