"""What this ingest installation has published before, and what it is doing now (SQLite in the data dir).

Three uses: the one-shot summary counts files whose bytes were published before as duplicates;
the ``keep`` policy remembers files left in the inbox so they are not published again; and each
claimed file has a row while it is handled (``claimed``): how many attempts it has had (a file
that makes the process die is quarantined after a few, instead of being adopted forever), and,
once the broker acknowledged its articles or its dead letter, how to finish it, so a restart
between the acknowledgement and the move does not publish it again.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

_BUSY_TIMEOUT_SECONDS: Final = 10.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS published (sha256 TEXT PRIMARY KEY, source_file TEXT NOT NULL, article_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS kept (
    source_file TEXT NOT NULL, size_bytes INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    PRIMARY KEY (source_file, size_bytes, mtime_ns)
);
CREATE TABLE IF NOT EXISTS claimed (
    claim_key TEXT PRIMARY KEY, source_file TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT, acknowledged TEXT
);
"""


@dataclass(frozen=True)
class ClaimState:
    """One claimed file's attempts so far, the last error, and (once acknowledged) how to finish it."""

    attempts: int = 0
    last_error: str | None = None
    acknowledged: dict[str, Any] | None = None


class Ledger:
    """A tiny SQLite store shared by the replicas of one data dir (WAL, busy timeout)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_SECONDS, check_same_thread=False)
        self._mutex = threading.Lock()
        with self._mutex, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            # Commits survive a process crash (what attempts and acknowledgements must survive)
            # without an fsync each: four small commits a file would otherwise cost ~4 fsyncs.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)

    def seen_bytes(self, sha256: str) -> bool:
        with self._mutex:
            row = self._db.execute("SELECT 1 FROM published WHERE sha256 = ?", (sha256,)).fetchone()
        return row is not None

    def record_published(self, sha256: str, source_file: str, article_id: str) -> None:
        with self._mutex, self._db:
            self._db.execute(
                "INSERT OR IGNORE INTO published (sha256, source_file, article_id) VALUES (?, ?, ?)",
                (sha256, source_file, article_id),
            )

    def remember_kept(self, source_file: str, size_bytes: int, mtime_ns: int) -> None:
        with self._mutex, self._db:
            self._db.execute("INSERT OR IGNORE INTO kept VALUES (?, ?, ?)", (source_file, size_bytes, mtime_ns))

    def is_kept(self, source_file: str, size_bytes: int, mtime_ns: int) -> bool:
        with self._mutex:
            row = self._db.execute(
                "SELECT 1 FROM kept WHERE source_file = ? AND size_bytes = ? AND mtime_ns = ?",
                (source_file, size_bytes, mtime_ns),
            ).fetchone()
        return row is not None

    # --- claimed files ---------------------------------------------------------------------------
    def claim_state(self, claim_key: str) -> ClaimState:
        with self._mutex:
            row = self._db.execute(
                "SELECT attempts, last_error, acknowledged FROM claimed WHERE claim_key = ?", (claim_key,)
            ).fetchone()
        if row is None:
            return ClaimState()
        return ClaimState(row[0], row[1], json.loads(row[2]) if row[2] else None)

    def begin_attempt(self, claim_key: str, source_file: str) -> int:
        """Count one more attempt at a claimed file (committed before the work starts); the new count."""
        with self._mutex, self._db:
            self._db.execute(
                "INSERT INTO claimed (claim_key, source_file, attempts) VALUES (?, ?, 1) "
                "ON CONFLICT (claim_key) DO UPDATE SET attempts = attempts + 1",
                (claim_key, source_file),
            )
            row = self._db.execute("SELECT attempts FROM claimed WHERE claim_key = ?", (claim_key,)).fetchone()
        return int(row[0])

    def note_error(self, claim_key: str, error: str) -> None:
        with self._mutex, self._db:
            self._db.execute("UPDATE claimed SET last_error = ? WHERE claim_key = ?", (error, claim_key))

    def undo_attempt(self, claim_key: str) -> None:
        """An attempt that ended for a reason not the file's (the broker was down): it does not count."""
        with self._mutex, self._db:
            self._db.execute("UPDATE claimed SET attempts = max(0, attempts - 1) WHERE claim_key = ?", (claim_key,))

    def acknowledge(self, claim_key: str, source_file: str, finish: dict[str, Any]) -> None:
        """The broker acknowledged the file's events: remember how to finish it (never publish it again)."""
        with self._mutex, self._db:
            self._db.execute(
                "INSERT INTO claimed (claim_key, source_file, acknowledged) VALUES (?, ?, ?) "
                "ON CONFLICT (claim_key) DO UPDATE SET acknowledged = excluded.acknowledged",
                (claim_key, source_file, json.dumps(finish, default=str)),
            )

    def release(self, claim_key: str) -> None:
        """The file left the claim folder: forget its attempts."""
        with self._mutex, self._db:
            self._db.execute("DELETE FROM claimed WHERE claim_key = ?", (claim_key,))

    def close(self) -> None:
        self._db.close()
