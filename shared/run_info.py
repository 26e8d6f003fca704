"""``run.json``: where a running ``newsflow run`` is, so every other command can find it.

The supervisor writes it into its data dir (the API address, the store's metrics address, the
broker, the database, the data dir and inbox, the pid of each service) and rewrites it when a
service restarts. Every other command (``ingest``, ``replay``, ``migrate``, a standalone
``enrich``, ``store`` or ``api``) reads it when the environment does not name a broker or a
database: it looks for ``run.json`` in ``NEWSFLOW_DATA_DIR`` when that is set, else in
``./.newsflow`` of the current folder or of the nearest parent folder that has one (as git finds
``.git``), and uses it only while the supervisor whose pid it records is alive. ``describe``
says, in one line each, what was used and where it came from.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from shared.config import Settings

RUN_INFO_FILE: Final = "run.json"
DEFAULT_DATA_DIR_NAME: Final = ".newsflow"
# Stands for a password run.json does not keep (an external database's URL is recorded without it).
HIDDEN_PASSWORD: Final = "***"

Origin = Literal["environment", "run.json"]


class RunInfo(BaseModel):
    """What ``run.json`` holds (older files lack the later fields: they are optional)."""

    model_config = ConfigDict(extra="ignore")

    pid: int
    api_url: str | None = None
    # The store's /metrics (its /health beside it): the writer runs apart from the API.
    store_metrics_url: str | None = None
    data_dir: str | None = None
    inbox: str | None = None
    kafka_bootstrap_servers: str | None = None
    database_url: str | None = None
    embedded_broker: bool = False
    embedded_postgres: bool = False
    services: dict[str, int] = {}


def recordable_database_url(url: str) -> str:
    """``url`` as run.json keeps it: a password is replaced by ``***`` (the embedded database has none)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url
    if not parsed.password:
        return url
    return parsed.render_as_string(hide_password=True)  # the password as ***


def write_run_info(data_dir: Path, info: RunInfo) -> Path:
    """Write ``run.json`` atomically, readable by its owner only (it names the database)."""
    target = data_dir / RUN_INFO_FILE
    temporary = target.with_name(f".{RUN_INFO_FILE}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(info.model_dump(mode="json"), indent=2) + "\n")
    os.replace(temporary, target)
    return target


def find_run_file(settings: Settings, cwd: Path | None = None) -> Path | None:
    """The ``run.json`` that would describe this command's pipeline, if there is one (running or not)."""
    if "data_dir" in settings.model_fields_set:
        candidate = settings.data_dir / RUN_INFO_FILE
        return candidate if candidate.is_file() else None
    folder = (cwd or Path.cwd()).absolute()
    for parent in (folder, *folder.parents):
        candidate = parent / DEFAULT_DATA_DIR_NAME / RUN_INFO_FILE
        if candidate.is_file():
            return candidate
    return None


def read_run_info(path: Path) -> RunInfo | None:
    """The contents of ``path``, or None when it is unreadable or not a run file."""
    try:
        return RunInfo.model_validate_json(path.read_bytes())
    except (OSError, ValidationError):
        return None


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


@dataclass(frozen=True)
class Pipeline:
    """The settings a command runs with, and where its broker, database and data dir came from."""

    settings: Settings
    run_file: Path | None = None
    run_info: RunInfo | None = None
    # A run.json was found but its supervisor has stopped.
    stale: bool = False
    origins: dict[str, Origin] = field(default_factory=dict)
    # The folder whose parents were searched for .newsflow/run.json (None: NEWSFLOW_DATA_DIR was set).
    searched: Path | None = None

    def describe(self, *, broker: bool = True, database: bool = False) -> list[str]:
        """One line per connection the command uses, saying where it came from; a stale run.json is named too."""
        lines: list[str] = []
        if self.run_info is not None and self.run_file is not None and "run.json" in self.origins.values():
            lines.append(
                f"Using the running pipeline (newsflow run, pid {self.run_info.pid}) found in {self.run_file}."
            )
        elif self.stale and self.run_file is not None and self.run_info is not None:
            lines.append(
                f"{self.run_file} is from a newsflow run that has stopped (pid {self.run_info.pid}); not using it."
            )
        if broker:
            lines.append(
                _line(
                    "broker",
                    self.settings.kafka_bootstrap_servers,
                    self.origins.get("broker"),
                    "KAFKA_BOOTSTRAP_SERVERS",
                )
            )
        if database:
            shown = recordable_database_url(self.settings.database_url) if self.settings.database_url else None
            lines.append(_line("database", shown, self.origins.get("database"), "DATABASE_URL"))
        missing = (broker and not self.settings.kafka_bootstrap_servers) or (
            database and not self.settings.database_url
        )
        if missing and self.run_file is None:
            lines.append(
                f"  (no {DEFAULT_DATA_DIR_NAME}/{RUN_INFO_FILE} in {self.searched} or the folders above it: run this "
                "where `make run` runs, or set NEWSFLOW_DATA_DIR to the data dir of `newsflow run`)"
                if self.searched is not None
                else f"  (no {RUN_INFO_FILE} in {self.settings.data_dir.absolute()}: is `newsflow run` running there?)"
            )
        data_origin = self.origins.get("data_dir")
        source = "run.json" if data_origin == "run.json" else ("NEWSFLOW_DATA_DIR" if data_origin else "default")
        lines.append(f"  data dir  {self.settings.data_dir.absolute()}   ({source})")
        return lines


def _line(label: str, value: str | None, origin: Origin | None, variable: str) -> str:
    if value is None:
        return f"  {label:<8}  none   ({variable} is not set and no running `newsflow run` was found)"
    source = variable if origin == "environment" else "run.json"
    return f"  {label:<8}  {value}   ({source})"


def with_running_pipeline(settings: Settings, cwd: Path | None = None) -> Pipeline:
    """``settings``, completed from a running ``newsflow run`` where the environment leaves gaps.

    The environment always wins: a broker or database it names is used as it is. run.json
    fills in the broker, the database and the data dir (so a command started in a sub-folder of
    the project still finds the pipeline's archive and claims), never the other way round.
    """
    origins: dict[str, Origin] = {}
    if settings.kafka_bootstrap_servers:
        origins["broker"] = "environment"
    if settings.database_url:
        origins["database"] = "environment"
    if "data_dir" in settings.model_fields_set:
        origins["data_dir"] = "environment"
    run_file = find_run_file(settings, cwd)
    searched = None if "data_dir" in origins else (cwd or Path.cwd()).absolute()
    info = read_run_info(run_file) if run_file is not None else None
    if info is None or run_file is None:
        return Pipeline(settings, origins=origins, searched=searched)
    if not is_running(info.pid):
        return Pipeline(settings, run_file, info, stale=True, origins=origins, searched=searched)
    update: dict[str, object] = {}
    if not settings.kafka_bootstrap_servers and info.kafka_bootstrap_servers:
        update["kafka_bootstrap_servers"] = info.kafka_bootstrap_servers
        origins["broker"] = "run.json"
    if not settings.database_url and info.database_url and HIDDEN_PASSWORD not in info.database_url:
        update["database_url"] = info.database_url
        origins["database"] = "run.json"
    if "data_dir" not in origins:
        update["data_dir"] = Path(info.data_dir) if info.data_dir else run_file.parent
        origins["data_dir"] = "run.json"
    if "inbox" not in settings.model_fields_set and info.inbox:
        update["inbox"] = Path(info.inbox)
    return Pipeline(settings.model_copy(update=update), run_file, info, origins=origins, searched=searched)
