"""The dashboard's recent history on disk, so a restart of the API does not blank its charts.

The sampler writes its snapshots to ``<data dir>/dashboard-history.json`` every minute and when
it stops, and reads them back when it starts; snapshots older than the kept window are dropped.
Counter resets across the restart are handled as at any time (a counter that went down was
reset). A crash loses at most the last minute; a data dir that does not exist (an API started
by hand without one) keeps nothing, and the page says so.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Final

from services.api.dashboard.history import Snapshot
from services.api.dashboard.readings import Reading, kind_of

log = logging.getLogger(__name__)

HISTORY_FILE_NAME: Final = "dashboard-history.json"
_FORMAT: Final = 1


def history_file(data_dir: Path) -> Path:
    return data_dir / HISTORY_FILE_NAME


def save_snapshots(path: Path, snapshots: list[Snapshot]) -> bool:
    """Write ``snapshots`` atomically; False (and a warning) when the folder is missing or not writable."""
    if not path.parent.is_dir():
        return False
    document = {
        "format": _FORMAT,
        "snapshots": [{"at": snapshot.at, "readings": snapshot.readings} for snapshot in snapshots],
    }
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(json.dumps(document, separators=(",", ":")))
        os.replace(temporary, path)
    except OSError as exc:
        log.warning("dashboard history not saved", extra={"path": str(path), "error": str(exc)})
        temporary.unlink(missing_ok=True)
        return False
    return True


def load_snapshots(path: Path, newer_than: float) -> list[Snapshot]:
    """The saved snapshots taken after ``newer_than`` (unix seconds), oldest first; none if unreadable."""
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        log.warning("dashboard history unreadable; starting empty", extra={"path": str(path), "error": str(exc)})
        return []
    if not isinstance(document, dict) or document.get("format") != _FORMAT:
        return []
    loaded: list[Snapshot] = []
    for item in document.get("snapshots", []):
        try:
            at = float(item["at"])
            readings = {str(endpoint): _known(reading) for endpoint, reading in item["readings"].items()}
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
        if at > newer_than and (not loaded or at > loaded[-1].at):
            loaded.append(Snapshot(at, readings))
    return loaded


def _known(reading: dict[str, object]) -> Reading:
    """The keys this version still charts (a file from an older version may hold others)."""
    kept: Reading = {}
    for key, value in reading.items():
        try:
            kind_of(key)
        except KeyError:
            continue
        if isinstance(value, int | float):
            kept[key] = float(value)
    return kept
