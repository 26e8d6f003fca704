"""The quarantine folder: files ingest failed on ``MAX_ATTEMPTS`` times, each beside its reason file.

A file lands there when even rejecting it failed, or when handling it made the process die again
and again. Other files go on meanwhile; the ``newsflow_ingest_quarantined_files`` gauge (which the
store's ``/health`` reads) stays above zero until a person moves the file away: back into the
inbox to try again, or out of the data dir.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from services.ingest.inbox import WORK_FILE_PREFIX

REASON_SUFFIX: Final = ".error.json"


def quarantined_files(folder: Path) -> list[Path]:
    """The files set aside in ``folder`` (their reason files and newsflow's temporary files left out)."""
    found: list[Path] = []
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            entries = list(os.scandir(current))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                pending.append(Path(entry.path))
            elif not entry.name.endswith(REASON_SUFFIX) and not entry.name.startswith(WORK_FILE_PREFIX):
                found.append(Path(entry.path))
    return sorted(found)


def count_quarantined(folder: Path) -> int:
    return len(quarantined_files(folder))
