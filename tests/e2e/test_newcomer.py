"""A newcomer's first hour, as processes: `newsflow run` started the default way, then the CLI from
another terminal with nothing set, and a quiet start.

The backfill is issue 23's acceptance: `newsflow ingest DIR --once` against a live `newsflow run`
with no Kafka variable set finds the pipeline through run.json, every article reaches the API, and
the folder is left exactly as it was.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO_ROOT, SEEDS_DIR, folder_snapshot
from tests.stack import RunningPipeline, clean_environment, start_pipeline

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

_STORED_WITHIN_SECONDS = 60.0
_CLI_SECONDS = 120.0


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPipeline]:
    """`newsflow run` with no NEWSFLOW_DATA_DIR or NEWSFLOW_INBOX: the data dir is ./.newsflow.
    One for the module (a start costs ~15 s); no test here depends on what another stored."""
    with start_pipeline(tmp_path_factory.mktemp("newcomer") / "project", default_dirs=True) as running:
        yield running


def newsflow_command() -> list[str]:
    """The `newsflow` command as installed (`.venv/bin/newsflow`), or the module where it is not."""
    script = Path(sys.executable).parent / "newsflow"
    return [str(script)] if script.exists() else [sys.executable, "-m", "services.cli"]


def test_ingest_once_finds_the_running_pipeline_and_leaves_the_folder_as_it_was(
    project: RunningPipeline, tmp_path: Path
) -> None:
    folder = tmp_path / "my archive"
    folder.mkdir()
    for seed in sorted(SEEDS_DIR.glob("*.txt")):
        shutil.copy(seed, folder / seed.name)
    records = [
        {"title": f"Harbour report {n}", "body": f"HAMBURG: Ships waited for the tide, day {n}."} for n in (1, 2)
    ]
    (folder / "feed.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    before = folder_snapshot(folder)
    workdir = project.data_dir.parent / "notes"  # a sub-folder of the project, as people wander off
    workdir.mkdir()

    done = subprocess.run(
        [*newsflow_command(), "ingest", str(folder), "--once"],
        cwd=workdir,
        env={**clean_environment(), "PYTHONPATH": str(REPO_ROOT)},  # no Kafka, database or data dir variable
        capture_output=True,
        text=True,
        timeout=_CLI_SECONDS,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Using the running pipeline (newsflow run, pid {project.process.pid})" in done.stderr
    assert f"{project.run_info()['kafka_bootstrap_servers']}   (run.json)" in done.stderr
    assert not any(line.startswith("{") for line in done.stderr.splitlines()), "log lines go to the log file"
    assert "published" in done.stdout and "were left as they were" in " ".join(done.stdout.split())
    assert folder_snapshot(folder) == before, "the user's folder is untouched"
    assert (project.data_dir / "logs" / "backfill.log").read_text().count('"message": "published"') == 6

    expected = {seed.name for seed in SEEDS_DIR.glob("*.txt")} | {"feed.jsonl"}
    deadline = time.monotonic() + _STORED_WITHIN_SECONDS
    stored: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        stored = project.articles()
        if len(stored) >= 7:
            break
        time.sleep(0.5)
    assert len(stored) == 7, stored
    assert {str(item["source_file"]) for item in stored} == expected
    assert all(item["title"] for item in stored), "every article has a title"


def test_the_start_is_quiet_and_names_the_command(project: RunningPipeline) -> None:
    output = project.output.read_text()
    before_banner = output.split("newsflow is ready", 1)[0].strip().splitlines()
    assert not any(line.lstrip().startswith("{") for line in before_banner), output
    labels = [line.split()[0] for line in before_banner[1:]]
    assert before_banner[0].startswith("newsflow is starting (details in ")
    assert labels == ["database", "broker", "ingest", "store", "api", "enrich"], output
    assert "newsflow --help" in output and "ingest FOLDER --once" in output
    detail = (project.data_dir / "logs" / "supervisor.log").read_text()
    assert "embedded postgres started" in detail and "Running upgrade" in detail, "the detail is in the log file"


def test_a_command_run_elsewhere_says_it_found_no_pipeline(tmp_path: Path) -> None:
    story = tmp_path / "story.txt"
    story.write_text("Port closes\n\nHAMBURG: The port closed on Monday.\n")
    done = subprocess.run(
        [*newsflow_command(), "ingest", str(story), "--once"],
        cwd=tmp_path,
        env={**clean_environment(), "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=_CLI_SECONDS,
    )
    assert done.returncode == 1
    assert f"no .newsflow/run.json in {tmp_path}" in done.stderr
    assert story.exists()


def test_head_and_compact_json_on_the_live_api(project: RunningPipeline) -> None:
    head = httpx.head(f"{project.api}/articles")
    assert head.status_code == 200 and head.content == b""
    assert '" : "' not in httpx.get(f"{project.api}/articles").text
