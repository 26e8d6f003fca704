"""File names as people see them, and names newsflow can always store a file under.

A name in the inbox is whatever bytes the filesystem allows: up to 255 bytes, any encoding.
Two things must still work for every one of them:

- Events, logs, reason files and the database need text. ``display_name`` turns the
  inbox-relative path (Python's ``surrogateescape`` form of the bytes) into valid Unicode:
  valid UTF-8 stays as it is, other bytes are written ``\\xff``. Identities derive from it, so
  the same file always gets the same article id.
- The archive and the rejected folder add to a name (``.meta.json``, ``.error.json``, a
  numbered ``.1`` when the name is taken). ``stored_name`` returns the name itself when those
  still fit, else a shortened or cleaned name ending in a hash of the original, so that it is
  unique; the original name is kept in the sidecar or reason file and in the event.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from pathlib import PurePosixPath
from typing import Final

# Linux (ext4, xfs, btrfs, tmpfs) allows 255 bytes per name.
NAME_MAX_BYTES: Final = 255
# What newsflow may append to a stored name: ".error.json" (11 bytes) and a numbered ".999999" (7).
_APPENDED_BYTES: Final = len(".error.json") + len(".999999")
STORED_NAME_MAX_BYTES: Final = NAME_MAX_BYTES - _APPENDED_BYTES
_HASH_CHARS: Final = 12
# A name's extension is kept when it is a short, plain one (".txt", ".json.gz").
_MAX_SUFFIX_CHARS: Final = 16


def display_name(relpath: str) -> str:
    """``relpath`` (as ``os.fsdecode`` gives it) as valid Unicode text: bytes that are not UTF-8 become ``\\xNN``."""
    return os.fsencode(relpath).decode("utf-8", "backslashreplace")


def is_plain_text(text: str) -> bool:
    """True when ``text`` encodes as UTF-8 (no lone surrogates) and holds no control characters."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not any(unicodedata.category(ch) == "Cc" for ch in text)


def needs_stored_name(name: str) -> bool:
    """Whether the file name ``name`` cannot be stored as it is (undecodable, control characters, too long)."""
    return (not is_plain_text(name)) or len(os.fsencode(name)) > STORED_NAME_MAX_BYTES


def stored_name(name: str) -> str:
    """``name`` when it can be stored as it is; else a valid, short name that ends in a hash of it.

    ``name`` is one path component (no folders). The result keeps the start of the name and its
    extension, so people still recognise the file.
    """
    if not needs_stored_name(name):
        return name
    raw = os.fsencode(name)
    digest = hashlib.sha256(raw).hexdigest()[:_HASH_CHARS]
    readable = "".join(
        ch if unicodedata.category(ch) not in ("Cc", "Cs") and ch != "\ufffd" else "_"
        for ch in raw.decode("utf-8", "replace")
    )
    suffixes = "".join(PurePosixPath(readable).suffixes[-2:])
    if len(suffixes) > _MAX_SUFFIX_CHARS or not suffixes.isprintable() or " " in suffixes:
        suffixes = ""
    stem = readable[: len(readable) - len(suffixes)] if suffixes else readable
    tail = f"~{digest}{suffixes}"
    budget = STORED_NAME_MAX_BYTES - len(tail.encode("utf-8"))
    return _cut_to_bytes(stem, budget) + tail


def stored_relpath(relpath: str) -> str:
    """``relpath`` with its last component replaced by :func:`stored_name` (folders kept as they are)."""
    path = PurePosixPath(relpath)
    name = stored_name(path.name)
    return name if str(path.parent) == "." else f"{path.parent}/{name}"


def _cut_to_bytes(text: str, budget: int) -> str:
    """The longest start of ``text`` whose UTF-8 encoding fits ``budget`` bytes (never half a character)."""
    encoded = text.encode("utf-8")
    if len(encoded) <= budget:
        return text
    return encoded[: max(0, budget)].decode("utf-8", "ignore")
