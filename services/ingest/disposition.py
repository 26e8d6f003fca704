"""Where a file goes after it was handled: processed/YYYY-MM-DD/ (or deleted, or kept), or rejected/.

Nothing is overwritten: a name already taken gets a numbered suffix. Reason files are written
to a temporary name and renamed, so a reader never sees half of one.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def free_name(target: Path) -> Path:
    """``target``, or ``name.1.ext``, ``name.2.ext``... when it is taken."""
    if not target.exists() and not target.is_symlink():
        return target
    for number in range(1, 1_000_000):
        candidate = target.with_name(f"{target.stem}.{number}{target.suffix}")
        if not candidate.exists() and not candidate.is_symlink():
            return candidate
    raise FileExistsError(f"no free name for {target}")


def move_to(source: Path, folder: Path, relpath: str) -> Path:
    """Rename ``source`` to ``folder/relpath`` (sub-folders created, never overwriting)."""
    target = free_name(folder / relpath)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(source, target)
    return target


def processed_folder(processed_dir: Path, now: datetime | None = None) -> Path:
    return processed_dir / (now or datetime.now(UTC)).strftime("%Y-%m-%d")


def write_reason_file(beside: Path, record: dict[str, Any]) -> Path:
    """Write ``<name>.error.json`` next to ``beside`` (atomically)."""
    target = beside.with_name(f"{beside.name}.error.json")
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_text(json.dumps(record, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    os.replace(temporary, target)
    return target
