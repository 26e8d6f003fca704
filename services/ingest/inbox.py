"""Listing the inbox: which entries are candidates (globs, recursion), never following links."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Final, Literal

EntryKind = Literal["file", "symlink", "special"]
# newsflow's own working entries (claim folders, probes, temporary copies): never dropped files.
WORK_FILE_PREFIX: Final = ".newsflow-"


@dataclass(frozen=True)
class Candidate:
    """One inbox entry that may be ingested (or must be rejected: links, devices, FIFOs)."""

    relpath: str
    path: Path
    kind: EntryKind
    size: int
    mtime_ns: int


def is_wanted(name: str, include: Iterable[str], exclude: Iterable[str]) -> bool:
    """Temporary names (".x", "*.part", "*.tmp", "*~", "*.swp") are skipped until renamed."""
    return any(fnmatchcase(name, g) for g in include) and not any(fnmatchcase(name, g) for g in exclude)


def scan_inbox(
    inbox: Path,
    *,
    recursive: bool,
    include: list[str],
    exclude: list[str],
    skip: frozenset[Path] = frozenset(),
) -> list[Candidate]:
    """Candidates in ``inbox``, oldest modification first. Symlinks are listed, never followed."""
    found: list[Candidate] = []
    pending = [inbox]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        for entry in entries:
            path = Path(entry.path)
            if path in skip or entry.name.startswith(WORK_FILE_PREFIX):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # renamed away (claimed by another replica) while listing
            if stat.S_ISDIR(info.st_mode):
                if recursive and not any(fnmatchcase(entry.name, g) for g in exclude):
                    pending.append(path)
                continue
            if not is_wanted(entry.name, include, exclude):
                continue
            kind: EntryKind = (
                "symlink" if stat.S_ISLNK(info.st_mode) else "file" if stat.S_ISREG(info.st_mode) else "special"
            )
            found.append(Candidate(path.relative_to(inbox).as_posix(), path, kind, info.st_size, info.st_mtime_ns))
    found.sort(key=lambda c: (c.mtime_ns, c.relpath))
    return found
