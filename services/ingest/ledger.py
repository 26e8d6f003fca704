"""What this ingest installation has published before (SQLite in the data dir).

Two uses: the one-shot summary counts files whose bytes were published before as duplicates,
and the ``keep`` policy remembers files left in the inbox so they are not published again.
Ingest does not depend on it for correctness: identities come from name and bytes.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Final

_BUSY_TIMEOUT_SECONDS: Final = 10.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS published (sha256 TEXT PRIMARY KEY, source_file TEXT NOT NULL, article_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS kept (
    source_file TEXT NOT NULL, size_bytes INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    PRIMARY KEY (source_file, size_bytes, mtime_ns)
);
"""


class Ledger:
    """A tiny SQLite store shared by the replicas of one data dir (WAL, busy timeout)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_SECONDS, check_same_thread=False)
        self._mutex = threading.Lock()
        with self._mutex, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
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

    def close(self) -> None:
        self._db.close()
