"""Finding a running `newsflow run` through run.json: what is used, from where, and what is not."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from shared.config import Settings
from shared.run_info import (
    RunInfo,
    find_run_file,
    read_run_info,
    recordable_database_url,
    with_running_pipeline,
    write_run_info,
)


def _stopped_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def _info(data_dir: Path, pid: int) -> RunInfo:
    return RunInfo(
        pid=pid,
        api_url="http://127.0.0.1:8123",
        data_dir=str(data_dir),
        inbox=str(data_dir.parent / "inbox"),
        kafka_bootstrap_servers="127.0.0.1:19092",
        database_url="postgresql://postgres:@/newsflow?host=/somewhere",
        services={"ingest": 1},
    )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder whose .newsflow/run.json names a live supervisor (this test process)."""
    monkeypatch.delenv("NEWSFLOW_DATA_DIR", raising=False)
    data_dir = tmp_path / "project" / ".newsflow"
    data_dir.mkdir(parents=True)
    write_run_info(data_dir, _info(data_dir, pid=__import__("os").getpid()))
    return tmp_path / "project"


def test_run_json_fills_in_what_the_environment_leaves_unset(project: Path) -> None:
    sub = project / "seeds" / "more"
    sub.mkdir(parents=True)
    pipeline = with_running_pipeline(Settings(kafka_bootstrap_servers=None, database_url=None), cwd=sub)
    assert pipeline.settings.kafka_bootstrap_servers == "127.0.0.1:19092"
    assert pipeline.settings.database_url == "postgresql://postgres:@/newsflow?host=/somewhere"
    assert pipeline.settings.data_dir == project / ".newsflow", "found from a sub-folder, as git finds .git"
    assert pipeline.settings.inbox == project / "inbox"
    text = "\n".join(pipeline.describe(database=True))
    assert f"found in {project / '.newsflow' / 'run.json'}" in text
    assert "127.0.0.1:19092   (run.json)" in text and "(run.json)" in text.split("database", 1)[1]


def test_the_environment_wins_and_says_so(project: Path) -> None:
    pipeline = with_running_pipeline(
        Settings(kafka_bootstrap_servers="kafka:9092", database_url="postgresql://u:secret@db/n"), cwd=project
    )
    assert pipeline.settings.kafka_bootstrap_servers == "kafka:9092"
    assert pipeline.settings.database_url == "postgresql://u:secret@db/n"
    text = "\n".join(pipeline.describe(database=True))
    assert "kafka:9092   (KAFKA_BOOTSTRAP_SERVERS)" in text
    assert "secret" not in text and "postgresql://u:***@db/n   (DATABASE_URL)" in text


def test_a_stopped_pipeline_is_not_used_and_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSFLOW_DATA_DIR", raising=False)
    data_dir = tmp_path / ".newsflow"
    data_dir.mkdir()
    write_run_info(data_dir, _info(data_dir, pid=_stopped_pid()))
    pipeline = with_running_pipeline(Settings(kafka_bootstrap_servers=None), cwd=tmp_path)
    assert pipeline.settings.kafka_bootstrap_servers is None
    text = "\n".join(pipeline.describe())
    assert "has stopped" in text and "not using it" in text


def test_nothing_found_says_where_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSFLOW_DATA_DIR", raising=False)
    pipeline = with_running_pipeline(Settings(kafka_bootstrap_servers=None), cwd=tmp_path)
    text = "\n".join(pipeline.describe())
    assert f"no .newsflow/run.json in {tmp_path}" in text and "NEWSFLOW_DATA_DIR" in text


def test_an_explicit_data_dir_is_the_only_place_looked(project: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    settings = Settings(data_dir=elsewhere, kafka_bootstrap_servers=None)
    assert find_run_file(settings, cwd=project) is None
    assert with_running_pipeline(settings, cwd=project).settings.kafka_bootstrap_servers is None


def test_run_json_is_private_and_keeps_no_password(tmp_path: Path) -> None:
    info = _info(tmp_path, pid=1).model_copy(
        update={"database_url": recordable_database_url("postgresql://newsflow:s3cret@db:5432/newsflow")}
    )
    path = write_run_info(tmp_path, info)
    assert path.stat().st_mode & 0o077 == 0
    assert "s3cret" not in path.read_text()
    assert read_run_info(path) == info
    # A URL whose password run.json hid is not used: the environment must give it.
    write_run_info(tmp_path, info.model_copy(update={"pid": __import__("os").getpid()}))
    found = with_running_pipeline(Settings(data_dir=tmp_path, database_url=None))
    assert found.settings.database_url is None
