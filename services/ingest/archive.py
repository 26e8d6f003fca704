"""The processed archive: published files kept under ``processed/YYYY-MM-DD/``, each with a sidecar.

A file's identity derives from its original name (relative to the inbox) and its bytes, but the
name it is stored under may differ (a numbered suffix when the name was taken that day). The
sidecar ``<stored name>.meta.json`` records the original name, sha256 and receipt time, so a
replay publishes every article under the very id it had the first time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from services.ingest.disposition import write_json_atomically
from services.ingest.inbox import WORK_FILE_PREFIX

log = logging.getLogger(__name__)

SIDECAR_SUFFIX: Final = ".meta.json"
# A sidecar is small; anything bigger under that suffix is a dropped file, not ours.
_MAX_SIDECAR_BYTES: Final = 64 * 1024


class ArchiveRecord(BaseModel):
    """What the sidecar of one archived file says about it."""

    model_config = ConfigDict(extra="ignore")

    newsflow_archive: Literal[1] = 1
    stored_name: str
    source_file: str
    sha256: str
    size_bytes: int
    content_type: str
    articles: int
    received_at: datetime
    archived_at: datetime


@dataclass(frozen=True)
class ArchivedFile:
    """One file of the archive and its sidecar (None when it has none)."""

    path: Path
    record: ArchiveRecord | None


def sidecar_path(stored: Path) -> Path:
    return stored.with_name(stored.name + SIDECAR_SUFFIX)


def write_sidecar(stored: Path, record: ArchiveRecord) -> None:
    """Write the sidecar of the file now at ``stored`` (atomically)."""
    record = record.model_copy(update={"stored_name": stored.name})
    write_json_atomically(sidecar_path(stored), record.model_dump(mode="json"))


def read_sidecar(stored: Path) -> ArchiveRecord | None:
    """The sidecar of ``stored``, or None when it has none (or what is there is not one)."""
    record = _parse_sidecar(sidecar_path(stored))
    return record if record is not None and record.stored_name == stored.name else None


def archived_files(path: Path) -> list[ArchivedFile]:
    """The archived files at ``path`` (a file, or a folder searched recursively), in path order.

    Sidecars are matched to their files, not listed themselves; newsflow's temporary files
    and sidecars whose file is gone are left out (the latter with a warning).
    """
    if path.is_dir() and not path.is_symlink():
        files = sorted(p for p in path.rglob("*") if _is_entry(p) and not p.name.startswith(WORK_FILE_PREFIX))
    else:
        files = [path]
        owner = _owner_of_sidecar(path)
        if owner is not None:
            files = [owner]  # a sidecar named on the command line stands for its file
    records = {candidate: read_sidecar(candidate) for candidate in files}
    owned = {sidecar_path(candidate) for candidate, record in records.items() if record is not None}
    found: list[ArchivedFile] = []
    for candidate in files:
        if candidate in owned:
            continue
        if candidate.name.endswith(SIDECAR_SUFFIX) and _parse_sidecar(candidate) is not None:
            log.warning("archive sidecar without its file; skipped", extra={"path": str(candidate)})
            continue
        found.append(ArchivedFile(candidate, records[candidate]))
    return found


def _is_entry(path: Path) -> bool:
    # Regular files and links (reported, never followed); folders are walked, not listed.
    return path.is_symlink() or path.is_file()


def _owner_of_sidecar(path: Path) -> Path | None:
    """The archived file whose sidecar ``path`` is, if it is one."""
    if not path.name.endswith(SIDECAR_SUFFIX):
        return None
    stored = path.with_name(path.name[: -len(SIDECAR_SUFFIX)])
    return stored if read_sidecar(stored) is not None else None


def _parse_sidecar(path: Path) -> ArchiveRecord | None:
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > _MAX_SIDECAR_BYTES:
            return None
        return ArchiveRecord.model_validate_json(path.read_bytes())
    except (OSError, ValidationError):
        return None
