"""Test and bench pipelines stay off the default metrics ports unless asked to run as a user does.

A CI run failed when a fault test's pipeline held 9101-9103 while the newcomer test started
`newsflow run` on the defaults: its services moved to other ports and said so, and the quiet
start it checks was not quiet.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.harness.pipeline import Pipeline

_VARIABLES = ("NEWSFLOW_INGEST_METRICS_PORT", "NEWSFLOW_ENRICH_METRICS_PORT", "NEWSFLOW_STORE_METRICS_PORT")
_DEFAULTS = {"9101", "9102", "9103"}


def test_a_harness_pipeline_takes_free_metrics_ports(tmp_path: Path) -> None:
    env = Pipeline(tmp_path).env()
    ports = {env[variable] for variable in _VARIABLES}
    assert len(ports) == 3 and not ports & _DEFAULTS


def test_a_pipeline_run_as_a_user_keeps_the_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in _VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    env = Pipeline(tmp_path, default_metrics_ports=True).env()
    assert not any(variable in env for variable in _VARIABLES)
