"""Reading the production stack files the way Docker would, for the deploy tests (no Docker needed).

- ``compose()`` is docker-compose.yml after Compose's variable interpolation, with the values an
  operator gets from ``.env.example`` (its empty required passwords filled with a stand-in);
- ``settings_env_names()`` is every environment variable ``shared.config.Settings`` reads, derived
  from its fields and their validation aliases;
- ``container_env(service)`` is what a newsflow container sees: the image's ``ENV`` overlaid with
  the service's ``environment:``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from dockerfile_parse import DockerfileParser
from dotenv import dotenv_values
from ruamel.yaml import YAML

from shared.config import Settings
from tests.conftest import REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
PROMETHEUS_CONFIG = REPO_ROOT / "deploy" / "prometheus" / "prometheus.yml"
GRAFANA_DIR = REPO_ROOT / "grafana"
HEALTHCHECK_SCRIPT = REPO_ROOT / "deploy" / "healthcheck.py"
# Stands in for the passwords an operator writes into .env.
STAND_IN_SECRET = "0123456789abcdef"

# $$ | ${NAME} | ${NAME:-default} ${NAME-default} ${NAME:?error} ${NAME?error} ${NAME:+alt} | $NAME
_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class InterpolationError(ValueError):
    """A required variable (``${NAME:?message}``) is unset, as ``docker compose`` would report."""


def load_yaml(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text())


def interpolate_string(text: str, env: Mapping[str, str]) -> str:
    """Compose's interpolation of one string."""

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["bare"]
        value = env.get(name)
        op, arg = match["op"], match["arg"] or ""
        is_set = value is not None and (value != "" or not (op or "").startswith(":"))
        if op in (":-", "-"):
            return value if is_set and value is not None else arg
        if op in (":?", "?"):
            if not is_set or value is None:
                raise InterpolationError(f"required variable {name} is missing a value: {arg}")
            return value
        if op in (":+", "+"):
            return arg if is_set else ""
        return value or ""

    return _VARIABLE.sub(replace, text)


def interpolate(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate_string(node, env)
    if isinstance(node, list):
        return [interpolate(item, env) for item in node]
    if isinstance(node, dict):
        return {key: interpolate(value, env) for key, value in node.items()}
    return node


def referenced_variables(node: Any) -> set[str]:
    """Names of every variable the (uninterpolated) compose file refers to, comments excluded."""
    if isinstance(node, str):
        return {m["braced"] or m["bare"] for m in _VARIABLE.finditer(node) if not m["escaped"]}
    if isinstance(node, list):
        return set().union(*(referenced_variables(item) for item in node)) if node else set()
    if isinstance(node, dict):
        return set().union(*(referenced_variables(value) for value in node.values())) if node else set()
    return set()


def env_example() -> dict[str, str]:
    return {key: value or "" for key, value in dotenv_values(ENV_EXAMPLE).items()}


def operator_env() -> dict[str, str]:
    """.env.example as an operator fills it in: every empty required value given a stand-in."""
    return {key: value or STAND_IN_SECRET for key, value in env_example().items()}


@cache
def raw_compose() -> dict[str, Any]:
    return load_yaml(COMPOSE_FILE)


@cache
def compose() -> dict[str, Any]:
    return interpolate(raw_compose(), operator_env())


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def newsflow_services() -> dict[str, dict[str, Any]]:
    """The services that run the newsflow image (they are the ones built from this repo)."""
    return {name: spec for name, spec in services().items() if "build" in spec}


def one_shot_services() -> set[str]:
    return {name for name, spec in services().items() if spec.get("restart") == "no"}


def settings_env_names() -> set[str]:
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        choices = getattr(field.validation_alias, "choices", None)
        if choices:
            names.update(str(choice) for choice in choices)
        elif isinstance(field.validation_alias, str):
            names.add(field.validation_alias)
        else:
            names.add(f"{Settings.model_config.get('env_prefix', '')}{name}".upper())
    return names


def dockerfile() -> DockerfileParser:
    return DockerfileParser(str(DOCKERFILE))


def compose_env(service: str) -> dict[str, str]:
    """The service's ``environment:`` as strings; a bare name (passed through from the host) is left out."""
    raw = services()[service].get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, None) for item in raw)
    return {
        key: str(value).lower() if isinstance(value, bool) else str(value)
        for key, value in raw.items()
        if value is not None
    }


def container_env(service: str) -> dict[str, str]:
    """The environment of a newsflow container: the image's ENV, overridden by compose."""
    image_env = {key: value for key, value in dockerfile().envs.items() if key in settings_env_names()}
    return {**image_env, **compose_env(service)}


def container_settings(service: str, monkeypatch: Any) -> Settings:
    """The Settings a newsflow container builds from its environment (and no .env file)."""
    for name in settings_env_names():
        monkeypatch.delenv(name, raising=False)
    for key, value in container_env(service).items():
        monkeypatch.setenv(key, value)
    return Settings(_env_file=None)
