"""docker-compose.yml is a valid Compose file whose newsflow services run real CLI commands with
settings the code reads, start in a safe order, and commit no secret. No Docker needed."""

from __future__ import annotations

import base64
import copy
import json
import shlex
from importlib import resources
from pathlib import PurePosixPath
from typing import Any

import jsonschema
import pytest
import typer
from typer.testing import CliRunner

from services.cli import app
from shared.config import Settings
from shared.events import ALL_TOPICS
from tests.deploy import stack

LONG_RUNNING_NEWSFLOW = ("ingest", "enrich", "store", "api")
# The services that talk to the broker (the API reads Postgres and the services' metrics only).
KAFKA_CLIENTS = ("ingest", "enrich", "store")


def _compose_schema() -> dict[str, Any]:
    # check-jsonschema vendors the Compose Specification's schema (compose-spec/compose-spec).
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    return json.loads(schema_file.read_text())


def _schema_errors(document: dict[str, Any]) -> list[str]:
    schema = _compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(document)]


def _cli_commands() -> dict[str, Any]:
    group = typer.main.get_command(app)
    return dict(group.commands)  # type: ignore[attr-defined]


# --- the Compose Specification -------------------------------------------------------------------


def test_compose_file_validates_against_the_compose_specification() -> None:
    assert _schema_errors(stack.compose()) == []


def test_the_schema_check_catches_a_broken_file() -> None:
    # Guards the test above against a schema that accepts anything.
    broken = copy.deepcopy(stack.compose())
    broken["services"]["store"]["comand"] = ["store"]
    broken["services"]["enrich"]["depends_on"]["kafka"]["condition"] = "service_ready"
    broken["services"]["kafka"]["healthcheck"]["intervall"] = "5s"
    errors = _schema_errors(broken)
    assert any("comand" in error for error in errors)
    assert any(error.startswith("services/enrich/depends_on") for error in errors)
    assert any("intervall" in error for error in errors)


def test_a_missing_password_stops_compose_with_a_message() -> None:
    env = {key: value for key, value in stack.operator_env().items() if key != "POSTGRES_PASSWORD"}
    with pytest.raises(stack.InterpolationError, match=r"POSTGRES_PASSWORD.*set it in \.env"):
        stack.interpolate(stack.raw_compose(), env)


# --- commands -------------------------------------------------------------------------------------


def test_the_stack_runs_every_service_of_the_pipeline() -> None:
    assert set(LONG_RUNNING_NEWSFLOW) | {"migrate"} <= set(stack.newsflow_services())
    assert {"kafka", "postgres", "prometheus", "grafana"} <= set(stack.services())


@pytest.mark.parametrize("service", sorted(stack.newsflow_services()))
def test_every_newsflow_command_is_a_cli_subcommand(service: str) -> None:
    command = stack.services()[service]["command"]
    assert isinstance(command, list), f"{service}: use the exec form (a list) so no shell is involved"
    assert command[0] in _cli_commands(), f"{service}: `newsflow {command[0]}` does not exist"
    # The whole command line parses (options included): --help exits 0 only after parsing the rest.
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output


def test_each_long_running_service_is_one_newsflow_command() -> None:
    commands = {name: spec["command"][0] for name, spec in stack.newsflow_services().items()}
    assert {commands[name] for name in LONG_RUNNING_NEWSFLOW} == set(LONG_RUNNING_NEWSFLOW)
    assert commands["migrate"] == "migrate"


# --- environment ----------------------------------------------------------------------------------


@pytest.mark.parametrize("service", sorted(stack.newsflow_services()))
def test_compose_sets_only_variables_the_settings_read(service: str) -> None:
    unknown = set(stack.compose_env(service)) - stack.settings_env_names()
    assert not unknown, f"{service} sets {sorted(unknown)}, which shared/config.py does not read"


@pytest.mark.parametrize("service", sorted(stack.newsflow_services()))
def test_settings_accept_every_value_compose_gives_them(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = stack.container_settings(service, monkeypatch)
    assert settings.require_kafka() == "kafka:9092"
    assert settings.require_database().startswith("postgresql://")
    assert f":{stack.STAND_IN_SECRET}@postgres:5432/" in settings.require_database()
    # Published ports and Prometheus reach a container only on a non-loopback address.
    assert settings.api_host == "0.0.0.0"
    assert settings.metrics_host == "0.0.0.0"


def test_services_agree_on_the_topic_partitions(monkeypatch: pytest.MonkeyPatch) -> None:
    partitions = {stack.container_settings(name, monkeypatch).topic_partitions for name in stack.newsflow_services()}
    assert len(partitions) == 1
    topics_command = stack.services()["topics"]["command"][0]
    assert f"--partitions {partitions.pop()}" in topics_command


def test_ingest_mounts_the_inbox_and_data_dir_where_the_settings_look(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = stack.container_settings("ingest", monkeypatch)
    assert settings.inbox.is_absolute() and settings.data_dir.is_absolute()
    targets = [PurePosixPath(volume.split(":")[1]) for volume in stack.services()["ingest"]["volumes"]]
    # Both inside ONE mount: renames between two bind mounts fail with EXDEV, even on one disk.
    inbox_mount = _innermost_mount(PurePosixPath(settings.inbox), targets)
    assert inbox_mount is not None, "the inbox is not bind-mounted"
    assert _innermost_mount(PurePosixPath(settings.data_dir), targets) == inbox_mount


def _innermost_mount(path: PurePosixPath, targets: list[PurePosixPath]) -> PurePosixPath | None:
    holding = [target for target in targets if path.is_relative_to(target)]
    return max(holding, key=lambda target: len(target.parts)) if holding else None


def test_every_compose_variable_is_explained_in_env_example() -> None:
    explained = set(stack.env_example()) | _commented_keys()
    missing = stack.referenced_variables(stack.raw_compose()) - explained
    assert not missing, f"add {sorted(missing)} to .env.example"


def _commented_keys() -> set[str]:
    keys: set[str] = set()
    for line in stack.ENV_EXAMPLE.read_text().splitlines():
        body = line.lstrip("# ").split("=", 1)
        if line.startswith("#") and len(body) == 2 and body[0].isidentifier() and body[0].isupper():
            keys.add(body[0])
    return keys


def test_env_example_does_not_set_newsflow_settings() -> None:
    # `newsflow run` outside Docker reads ./.env too; container host names there would break it.
    assert not set(stack.env_example()) & stack.settings_env_names()


# --- order, restarts, health ----------------------------------------------------------------------


def test_dependencies_wait_for_health_or_completion() -> None:
    one_shot = stack.one_shot_services()
    assert {"migrate", "topics"} <= one_shot
    for name, spec in stack.services().items():
        for dependency, rule in (spec.get("depends_on") or {}).items():
            expected = "service_completed_successfully" if dependency in one_shot else "service_healthy"
            assert rule == {"condition": expected}, f"{name} -> {dependency}"
            if expected == "service_healthy":
                assert _has_healthcheck(dependency), f"{name} waits for {dependency}, which has no healthcheck"


def _has_healthcheck(service: str) -> bool:
    spec = stack.services()[service]
    if "healthcheck" in spec:
        return not spec["healthcheck"].get("disable", False)
    # The newsflow image brings its own HEALTHCHECK.
    return "build" in spec and any(i["instruction"] == "HEALTHCHECK" for i in stack.dockerfile().structure)


def test_services_start_after_what_they_need() -> None:
    needs = {
        "migrate": {"postgres"},
        "ingest": {"kafka", "topics"},
        "enrich": {"kafka", "topics", "migrate"},
        "store": {"kafka", "topics", "migrate"},
        "api": {"migrate"},
        "topics": {"kafka"},
        "grafana": {"prometheus"},
    }
    for service, dependencies in needs.items():
        assert dependencies <= set(stack.services()[service].get("depends_on") or {}), service


def test_restart_policies() -> None:
    for name, spec in stack.services().items():
        expected = "no" if name in {"migrate", "topics"} else "unless-stopped"
        assert spec.get("restart") == expected, name


def test_enrich_runs_two_replicas_and_the_api_is_published(monkeypatch: pytest.MonkeyPatch) -> None:
    assert stack.services()["enrich"]["deploy"]["replicas"] == 2
    api_port = stack.container_settings("api", monkeypatch).api_port
    assert any(str(port).endswith(f":{api_port}") for port in stack.services()["api"]["ports"])
    assert "ports" not in stack.services()["store"], "the store serves no API: nothing of it is published"


def test_the_api_probes_its_own_health_and_reads_the_store(monkeypatch: pytest.MonkeyPatch) -> None:
    api = stack.services()["api"]
    command, script, service = api["healthcheck"]["test"][1:]
    assert (command, service) == ("python", "api")
    copies = [i["value"].split() for i in stack.dockerfile().structure if i["instruction"] == "COPY"]
    assert ["deploy/healthcheck.py", script] in copies, "the probe the image ships"
    settings = stack.container_settings("api", monkeypatch)
    store = stack.container_settings("store", monkeypatch)
    # /health reads the store's consumers' states from its metrics, at the port the store serves them on.
    assert f"store:{store.store_metrics_port}" in settings.metrics_targets
    assert settings.api_workers >= 1


# --- durable infrastructure -----------------------------------------------------------------------


def test_kafka_and_postgres_keep_their_data_in_named_volumes() -> None:
    declared = set(stack.compose()["volumes"])
    kafka = stack.services()["kafka"]
    log_dir = kafka["environment"]["KAFKA_LOG_DIRS"]
    assert f"kafka-data:{log_dir}" in kafka["volumes"] and "kafka-data" in declared
    assert "postgres-data:/var/lib/postgresql/data" in stack.services()["postgres"]["volumes"]
    assert "postgres-data" in declared


def test_kafka_runs_kraft_with_a_valid_cluster_id() -> None:
    env = stack.services()["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "ZOOKEEPER" not in " ".join(env).upper()
    cluster_id = str(env["CLUSTER_ID"])
    # Kafka wants a UUID in URL-safe base64 without padding: 22 characters, 16 bytes.
    assert len(cluster_id) == 22
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_kafka_takes_the_largest_message_the_services_send(monkeypatch: pytest.MonkeyPatch) -> None:
    env = stack.services()["kafka"]["environment"]
    assert str(env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"]) == "false"
    for service in stack.newsflow_services():
        limit = stack.container_settings(service, monkeypatch).kafka_max_message_bytes
        assert int(env["KAFKA_MESSAGE_MAX_BYTES"]) >= limit, service


def test_topics_service_creates_exactly_the_event_topics() -> None:
    script = stack.services()["topics"]["command"][0]
    loop = next(line for line in script.splitlines() if line.strip().startswith("for topic in"))
    topics = shlex.split(loop.split(" in ", 1)[1].split(";", 1)[0])
    assert tuple(topics) == ALL_TOPICS
    assert "--if-not-exists" in script


# --- secrets --------------------------------------------------------------------------------------


def test_no_secret_is_committed() -> None:
    raw = stack.raw_compose()["services"]
    assert raw["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert raw["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")
    assert "${POSTGRES_WRITER_PASSWORD:?" in stack.raw_compose()["x-newsflow"]["environment"]["DATABASE_URL"]
    assert "${POSTGRES_API_PASSWORD:?" in raw["api"]["environment"]["NEWSFLOW_API_DATABASE_URL"]
    assert "${POSTGRES_PASSWORD:?" in raw["migrate"]["environment"]["DATABASE_URL"]
    example = stack.env_example()
    passwords = ("POSTGRES_PASSWORD", "POSTGRES_WRITER_PASSWORD", "POSTGRES_API_PASSWORD", "GRAFANA_ADMIN_PASSWORD")
    assert all(example[name] == "" for name in passwords)
    ignored = (stack.REPO_ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in ignored


def test_compose_defaults_match_the_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    # The compose file spells some defaults out; they must not drift from shared/config.py.
    for name in stack.settings_env_names():
        monkeypatch.delenv(name, raising=False)
    defaults = Settings(_env_file=None)
    raw_env = stack.raw_compose()["x-newsflow"]["environment"]
    assert f"${{TOPIC_PARTITIONS:-{defaults.topic_partitions}}}" == raw_env["NEWSFLOW_TOPIC_PARTITIONS"]
    assert str(defaults.kafka_max_message_bytes) == str(raw_env["NEWSFLOW_KAFKA_MAX_MESSAGE_BYTES"])


# --- resources -------------------------------------------------------------------------------------


def _bytes(size: str) -> int:
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    size = size.strip().lower().removesuffix("b")
    return int(float(size[:-1]) * units[size[-1]]) if size[-1] in units else int(size)


@pytest.mark.parametrize("service", sorted(stack.services()))
def test_every_service_has_a_memory_limit(service: str) -> None:
    limits = stack.services()[service].get("deploy", {}).get("resources", {}).get("limits", {})
    assert "memory" in limits, f"{service}: set deploy.resources.limits.memory"
    assert 64 * 1024**2 <= _bytes(str(limits["memory"])) <= 4 * 1024**3, limits["memory"]


def test_the_brokers_heap_fits_in_its_memory_limit() -> None:
    kafka = stack.services()["kafka"]
    heap = next(opt for opt in kafka["environment"]["KAFKA_HEAP_OPTS"].split() if opt.startswith("-Xmx"))
    assert _bytes(heap.removeprefix("-Xmx")) <= _bytes(kafka["deploy"]["resources"]["limits"]["memory"]) * 0.75


# --- Kafka with SASL (deploy/compose/kafka-sasl.yml) ----------------------------------------------


def test_the_sasl_override_is_a_valid_compose_file_with_settings_the_services_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    override_file = stack.REPO_ROOT / "deploy" / "compose" / "kafka-sasl.yml"
    env = {**stack.operator_env(), "BROKER_PASSWORD": stack.STAND_IN_SECRET}
    override = stack.interpolate(stack.load_yaml(override_file), env)
    assert _schema_errors(override) == []
    known = stack.settings_env_names()
    assert "api" not in override["services"], "the API has no broker to log in to"
    for service in KAFKA_CLIENTS:
        environment = override["services"][service]["environment"]
        assert set(environment) <= known, service
        for name, value in {**stack.container_env(service), **environment}.items():
            monkeypatch.setenv(name, str(value))
        settings = Settings(_env_file=None)
        assert settings.kafka_security_protocol == "SASL_PLAINTEXT" and settings.kafka_sasl_password is not None
    with pytest.raises(stack.InterpolationError, match="BROKER_PASSWORD"):
        stack.interpolate(stack.load_yaml(override_file), stack.operator_env())
