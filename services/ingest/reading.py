"""Reading one claimed file safely: a regular file of ours, within the size limit, never through a link.

Each refusal is a ``Rejection`` naming what to do (copy the file in, split it, grant read access).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from services.ingest.names import display_name
from services.ingest.parsing.errors import Rejection
from shared.config import Settings


def read_claimed(relpath: str, path: Path, inbox: Path, settings: Settings) -> bytes:
    """The file's bytes; a Rejection when it is a link, not a regular file, hard-linked, too large or unreadable."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        raise _symlink_rejection(relpath, path, inbox)
    if not stat.S_ISREG(info.st_mode):
        raise Rejection(
            "not_a_regular_file",
            "This is not a regular file (a pipe, socket or device); drop a regular file instead.",
        )
    if info.st_nlink > 1 and not settings.allow_hard_links:
        # Another name of the same file may sit anywhere on this filesystem, where the person who
        # dropped the link may not even be allowed to read it: a link must not publish it.
        raise Rejection(
            "hard_link",
            f"This file has {info.st_nlink} names (hard links): it is also stored elsewhere, and newsflow "
            "only publishes files given to it. Copy the file into the inbox instead of linking it, or set "
            "NEWSFLOW_ALLOW_HARD_LINKS=true if your tools link files in on purpose.",
        )
    if info.st_size > settings.max_file_bytes:
        # Checked before reading, so a huge file never lands in memory.
        raise Rejection(
            "too_large",
            f"The file has {info.st_size:,} bytes, over the {settings.max_file_bytes:,}-byte limit "
            "(NEWSFLOW_MAX_FILE_BYTES); split it or raise the limit.",
        )
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except PermissionError as exc:
        raise Rejection(
            "unreadable",
            f"newsflow may not read this file ({exc.strerror}); give the user it runs as read access and "
            "drop it again.",
        ) from exc
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(settings.max_file_bytes + 1)
    if len(data) > settings.max_file_bytes:
        raise Rejection("too_large", "The file grew past the size limit while being read; split it.")
    return data


def _symlink_rejection(relpath: str, path: Path, inbox: Path) -> Rejection:
    raw_link = os.readlink(path)
    link = display_name(raw_link)  # for the message: a target's bytes need not be UTF-8 either
    # Resolve the link as it was in the inbox (relative links are relative to its folder there).
    target = ((inbox / relpath).parent / raw_link).resolve(strict=False)
    root = inbox.resolve()
    if target != root and root not in target.parents:
        return Rejection(
            "symlink_outside_inbox",
            f"This is a symbolic link to {link}, outside the inbox; newsflow never follows links out of "
            "the inbox. Copy the file itself into the inbox.",
        )
    return Rejection(
        "symlink",
        f"This is a symbolic link (to {link}); newsflow reads files, not links. Copy the file itself in.",
    )
