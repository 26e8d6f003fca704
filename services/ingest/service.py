"""The ingest loop: scan the inbox, wait for files to settle, claim them, hand them to the processor.

One instance is one replica. Any number may share an inbox (and data dir): claims make each
file theirs alone, and files held by a replica that died are adopted by the others.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Final

from services.ingest import metrics
from services.ingest.claims import CLAIMS_IN_INBOX, ClaimStore, can_rename_between
from services.ingest.inbox import Candidate, scan_inbox
from services.ingest.ledger import Ledger
from services.ingest.names import display_name
from services.ingest.processor import FileProcessor, Outcome
from services.ingest.quarantine import count_quarantined
from services.ingest.settle import SettleTracker
from services.ingest.watcher import InboxWatcher, WriteActivity
from shared.config import Settings
from shared.events import utcnow
from shared.kafka import make_producer

log = logging.getLogger(__name__)

# Files claimed and published per round trip to the broker; small enough that replicas share
# a burst of files fairly, large enough to amortise the wait for acknowledgements.
CLAIM_BATCH_FILES: Final = 32
# How often a replica looks for files left claimed by a replica that stopped.
ORPHAN_CHECK_SECONDS: Final = 10.0
RETRY_BACKOFF_MAX_SECONDS: Final = 30.0
# How often the files in quarantine/ are counted for the metric (and so for the store's /health).
QUARANTINE_COUNT_SECONDS: Final = 2.0
_PRODUCER_CLOSE_SECONDS: Final = 1.0
# Outcomes that leave a file in the claim folder, to be tried again after a backoff.
_STILL_CLAIMED: Final = frozenset({"retry", "failed"})


def new_replica_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


class IngestService:
    """One ingest replica over ``inbox`` (defaults to the configured inbox)."""

    def __init__(self, settings: Settings, stop: threading.Event, *, inbox: Path | None = None) -> None:
        self.settings = settings
        self.stop = stop
        self.inbox = (inbox or settings.inbox).absolute()
        self.inbox.mkdir(parents=True, exist_ok=True)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.replica_id = new_replica_id()
        self.claims = ClaimStore(self._claims_root(), self.replica_id)
        self.ledger = Ledger(settings.data_dir / "ingest" / "ledger.sqlite3")
        self.producer = make_producer(settings, client_id="newsflow-ingest")
        self.processor = FileProcessor(
            settings, producer=self.producer, claims=self.claims, ledger=self.ledger, inbox=self.inbox, stop=stop
        )
        self.activity = WriteActivity()
        self.tracker = SettleTracker(
            settings.file_settle_seconds,
            append_grace_seconds=settings.file_append_grace_seconds,
            activity=self.activity,
        )
        self.wake = threading.Event()
        self._orphans_checked_at = 0.0
        self._quarantine_counted_at = 0.0
        self._failures = 0
        self._unclaimable: dict[str, tuple[int, int]] = {}
        metrics.init_metrics()

    def _claims_root(self) -> Path:
        root = self.settings.data_dir / "ingest" / "claims"
        root.mkdir(parents=True, exist_ok=True)
        if not can_rename_between(self.inbox, root):
            # A rename is atomic only within one mount: claim inside the inbox instead.
            log.warning(
                "inbox and data dir are on different mounts; claiming inside the inbox",
                extra={"inbox": str(self.inbox), "claims": str(root)},
            )
            root = self.inbox / CLAIMS_IN_INBOX
        return root

    # ---------------------------------------------------------------------------------------
    def run(self) -> None:
        """Backfill the inbox, then follow it until ``stop`` is set."""
        watcher = InboxWatcher(
            self.inbox, recursive=self.settings.inbox_recursive, wake=self.wake, stop=self.stop, activity=self.activity
        )
        watcher.start()
        log.info("ingest started", extra={"inbox": str(self.inbox), "replica": self.replica_id})
        while not self.stop.is_set():
            try:
                had_work = self.run_cycle()
            except Exception:  # one bad cycle (a full disk, say) must not end the service
                log.exception("ingest cycle failed; trying again after a pause")
                self._failures += 1
                had_work = False
            if had_work and not self._failures:
                continue  # more may have arrived meanwhile; look again at once
            timeout = self.settings.inbox_poll_interval_seconds
            due = self.tracker.seconds_until_due()
            if due is not None:
                timeout = min(timeout, due)
            if self._failures:
                timeout = min(RETRY_BACKOFF_MAX_SECONDS, 0.5 * 2 ** min(self._failures, 6))
            self.wake.wait(timeout)
            self.wake.clear()
        watcher.join(timeout=1.0)

    def run_cycle(self, only: set[str] | None = None, progress: list[Outcome] | None = None) -> bool:
        """Adopt orphans, claim what has settled, process it. True if any file was handled."""
        self._adopt_orphans()
        self._count_quarantined()
        handled = self._process(self.claims.pending(), progress)
        candidates = self.scan(only)
        ready = self.tracker.ready(candidates)
        for start in range(0, len(ready), CLAIM_BATCH_FILES):
            if self.stop.is_set():
                break
            claimed = [c.relpath for c in ready[start : start + CLAIM_BATCH_FILES] if self._claim(c)]
            handled += self._process(claimed, progress)
        return handled > 0

    def scan(self, only: set[str] | None = None) -> list[Candidate]:
        candidates = scan_inbox(
            self.inbox,
            recursive=self.settings.inbox_recursive,
            include=self.settings.include_globs,
            exclude=self.settings.exclude_globs,
            skip=frozenset({self.inbox / CLAIMS_IN_INBOX}),
        )
        if self.settings.processed_policy == "keep":
            candidates = [c for c in candidates if not self.ledger.is_kept(c.relpath, c.size, c.mtime_ns)]
        if only is not None:
            candidates = [c for c in candidates if c.relpath in only]
        metrics.INBOX_BACKLOG.set(len(candidates))
        oldest = min((c.mtime_ns for c in candidates), default=None)
        metrics.INBOX_OLDEST_AGE_SECONDS.set(0 if oldest is None else max(0.0, time.time() - oldest / 1e9))
        return candidates

    def _claim(self, candidate: Candidate) -> bool:
        try:
            claimed = self.claims.claim(candidate.path, candidate.relpath)
        except OSError as exc:
            # Left in the inbox (a folder ingest may not write, say); said once until the file changes.
            if self._unclaimable.get(candidate.relpath) != (candidate.size, candidate.mtime_ns):
                self._unclaimable[candidate.relpath] = (candidate.size, candidate.mtime_ns)
                log.error(
                    "cannot claim a file; it stays in the inbox",
                    extra={"source_file": display_name(candidate.relpath), "error": str(exc)},
                )
            return False
        self._unclaimable.pop(candidate.relpath, None)
        self.tracker.forget(candidate.relpath)
        if claimed is None:
            return False
        metrics.FILES_SEEN.inc()
        self.processor.received_at[candidate.relpath] = utcnow()
        return True

    def _process(self, relpaths: list[str], progress: list[Outcome] | None) -> int:
        if not relpaths:
            return 0
        stuck_before = len(self.processor.stuck)
        outcomes = self.processor.process(relpaths)
        unfinished = [o for o in outcomes if o.status in _STILL_CLAIMED]
        for outcome in outcomes:
            if outcome.status not in _STILL_CLAIMED:
                self.processor.received_at.pop(outcome.relpath, None)
        # Only the broker's failures back off; a file that failed is tried again at the next look.
        self._failures = self._failures + 1 if any(o.status == "retry" for o in outcomes) else 0
        if len(self.processor.stuck) != stuck_before or any(o.reason == "quarantined" for o in outcomes):
            self._count_quarantined(force=True)
        if progress is not None:
            progress.extend(o for o in outcomes if o.status not in _STILL_CLAIMED)
        return len(outcomes) - len(unfinished)

    def _adopt_orphans(self) -> None:
        now = time.monotonic()
        if now - self._orphans_checked_at < ORPHAN_CHECK_SECONDS:
            return
        self._orphans_checked_at = now
        adopted = self.claims.adopt_orphans()
        metrics.CLAIMS_RECOVERED.inc(len(adopted))

    def _count_quarantined(self, *, force: bool = False) -> None:
        """Publish how many files sit in quarantine/ (a person clears it by moving them away)."""
        now = time.monotonic()
        if not force and now - self._quarantine_counted_at < QUARANTINE_COUNT_SECONDS:
            return
        self._quarantine_counted_at = now
        metrics.FILES_QUARANTINED.set(count_quarantined(self.settings.quarantine_dir) + len(self.processor.stuck))

    def close(self) -> None:
        self.producer.close(timeout=_PRODUCER_CLOSE_SECONDS)
        self.claims.close()
        self.ledger.close()
