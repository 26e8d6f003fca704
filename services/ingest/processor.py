"""Handling claimed files: read, parse, publish, wait for acks, then move; or reject with a reason.

Order is what makes it safe: a file leaves the claim folder only after the broker acknowledged
every article of it (or its dead letter). A crash before that leaves it claimed, and it is
published again with the same identity.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final, Literal

from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError, MessageSizeTooLargeError

from services.ingest import metrics
from services.ingest.archive import ArchiveRecord, write_sidecar
from services.ingest.articles import raw_articles
from services.ingest.claims import ClaimStore
from services.ingest.disposition import move_to, processed_folder, write_reason_file
from services.ingest.ledger import Ledger
from services.ingest.parsing.article import ParsedFile, RecordError
from services.ingest.parsing.errors import Rejection
from services.ingest.parsing.formats import parse_file
from shared.config import Settings
from shared.dead_letter import publish_dead_letter
from shared.events import TOPIC_RAW, DeadLetter, Origin, RawArticle, utcnow
from shared.identity import article_id, sha256_hex

log = logging.getLogger(__name__)

# How long to wait for the broker to acknowledge a file's articles before retrying it later.
ACK_TIMEOUT_SECONDS: Final = 30.0
# Waiting is sliced so a stop request is noticed quickly.
_ACK_POLL_SECONDS: Final = 0.2
_READ_CHUNK_BYTES: Final = 1024 * 1024

Status = Literal["published", "rejected", "retry"]


@dataclass
class Outcome:
    """What happened to one file."""

    relpath: str
    status: Status
    articles: int = 0
    reason: str | None = None
    duplicate: bool = False
    bad_records: int = 0


@dataclass
class _InFlight:
    relpath: str
    path: Path
    sha256: str
    size: int
    parsed: ParsedFile
    events: list[RawArticle]
    futures: list[object] = field(default_factory=list)
    sent_at: float = 0.0
    duplicate: bool = False


class FileProcessor:
    """Turns the files in a claim folder into published events and moved files."""

    def __init__(
        self,
        settings: Settings,
        *,
        producer: KafkaProducer,
        claims: ClaimStore,
        ledger: Ledger,
        inbox: Path,
        stop: threading.Event,
    ) -> None:
        self.settings = settings
        self.producer = producer
        self.claims = claims
        self.ledger = ledger
        self.inbox = inbox
        self.stop = stop
        self.received_at: dict[str, datetime] = {}
        # Carried by every event; a one-shot backfill sets "backfill" (latency figures keep them apart).
        self.origin: Origin = "live"

    def process(self, relpaths: list[str]) -> list[Outcome]:
        """Handle claimed files as one batch: all sends first, then all acks (one round trip)."""
        outcomes: list[Outcome] = []
        in_flight: list[_InFlight] = []
        batch_hashes: set[str] = set()
        for relpath in relpaths:
            path = self.claims.path_of(relpath)
            try:
                in_flight.append(self._send(relpath, path, batch_hashes))
            except Rejection as rejection:
                outcomes.append(self._reject(relpath, path, rejection, *_identify(path)))
            except KafkaError as exc:
                outcomes.append(self._retry(relpath, exc))
        for item in in_flight:
            outcomes.append(self._finish(item))
        return outcomes

    # --- reading and sending -------------------------------------------------------------------
    def _send(self, relpath: str, path: Path, batch_hashes: set[str]) -> _InFlight:
        data = self._read(relpath, path)
        sha256 = sha256_hex(data)
        metrics.BYTES_READ.inc(len(data))
        try:
            parsed = parse_file(Path(relpath).name, data, max_bytes=self.settings.max_file_bytes)
        except Rejection:
            raise
        except Exception as exc:
            log.exception("parser failed", extra={"source_file": relpath})
            raise Rejection(
                "parse_failed",
                f"newsflow could not parse this file ({type(exc).__name__}: {exc}); it is kept here: "
                "please report it with this file.",
            ) from exc
        events = raw_articles(
            parsed,
            source_file=relpath,
            sha256=sha256,
            size_bytes=len(data),
            received_at=self.received_at.get(relpath) or utcnow(),
            origin=self.origin,
        )
        # Bytes seen earlier in this batch count too: a backfill sends a batch before any is recorded.
        duplicate = sha256 in batch_hashes or self.ledger.seen_bytes(sha256)
        batch_hashes.add(sha256)
        item = _InFlight(relpath, path, sha256, len(data), parsed, events, duplicate=duplicate)
        item.sent_at = time.perf_counter()
        for event in events:
            try:
                future = self.producer.send(TOPIC_RAW, key=event.article_id.encode("utf-8"), value=event.to_bytes())
            except MessageSizeTooLargeError as exc:
                raise Rejection(
                    "too_large",
                    f"Article {event.part} is too large for the broker ({exc}); split the file or raise "
                    "NEWSFLOW_KAFKA_MAX_MESSAGE_BYTES.",
                ) from exc
            item.futures.append(future)
        return item

    def _read(self, relpath: str, path: Path) -> bytes:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            raise self._symlink_rejection(relpath, path)
        if not stat.S_ISREG(info.st_mode):
            raise Rejection(
                "not_a_regular_file",
                "This is not a regular file (a pipe, socket or device); drop a regular file instead.",
            )
        if info.st_size > self.settings.max_file_bytes:
            # Checked before reading, so a huge file never lands in memory.
            raise Rejection(
                "too_large",
                f"The file has {info.st_size:,} bytes, over the {self.settings.max_file_bytes:,}-byte limit "
                "(NEWSFLOW_MAX_FILE_BYTES); split it or raise the limit.",
            )
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(self.settings.max_file_bytes + 1)
        if len(data) > self.settings.max_file_bytes:
            raise Rejection("too_large", "The file grew past the size limit while being read; split it.")
        return data

    def _symlink_rejection(self, relpath: str, path: Path) -> Rejection:
        link = os.readlink(path)
        # Resolve the link as it was in the inbox (relative links are relative to its folder there).
        target = ((self.inbox / relpath).parent / link).resolve(strict=False)
        inbox = self.inbox.resolve()
        if target != inbox and inbox not in target.parents:
            return Rejection(
                "symlink_outside_inbox",
                f"This is a symbolic link to {link}, outside the inbox; newsflow never follows links out of "
                "the inbox. Copy the file itself into the inbox.",
            )
        return Rejection(
            "symlink",
            f"This is a symbolic link (to {link}); newsflow reads files, not links. Copy the file itself in.",
        )

    # --- acknowledgements and moving -----------------------------------------------------------
    def _finish(self, item: _InFlight) -> Outcome:
        try:
            for future in item.futures:
                self._wait_ack(future)
        except MessageSizeTooLargeError as exc:
            return self._reject(
                item.relpath,
                item.path,
                Rejection("too_large", f"An article is too large for the broker ({exc}); split the file."),
                item.sha256,
                item.size,
            )
        except KafkaError as exc:
            return self._retry(item.relpath, exc)
        metrics.PUBLISH_LATENCY_SECONDS.observe(time.perf_counter() - item.sent_at)
        try:
            for error in item.parsed.errors:
                self._dead_letter_record(item, error)
        except KafkaError as exc:
            return self._retry(item.relpath, exc)
        if item.parsed.errors:
            self._write_record_report(item)
        self._dispose_published(item)
        self.ledger.record_published(item.sha256, item.relpath, item.events[0].article_id)
        metrics.FILES_PUBLISHED.labels(item.parsed.content_type).inc()
        metrics.ARTICLES_PUBLISHED.labels(item.parsed.content_type).inc(len(item.events))
        log.info(
            "published",
            extra={
                "source_file": item.relpath,
                "article_id": item.events[0].article_id,
                "articles": len(item.events),
                "bad_records": len(item.parsed.errors),
                "content_type": item.parsed.content_type,
                "sha256": item.sha256,
            },
        )
        return Outcome(
            item.relpath, "published", len(item.events), duplicate=item.duplicate, bad_records=len(item.parsed.errors)
        )

    def _wait_ack(self, future: object) -> None:
        deadline = time.monotonic() + ACK_TIMEOUT_SECONDS
        while True:
            try:
                future.get(timeout=_ACK_POLL_SECONDS)  # type: ignore[attr-defined]
                return
            except KafkaTimeoutError:
                if self.stop.is_set() or time.monotonic() > deadline:
                    raise

    def _dispose_published(self, item: _InFlight) -> None:
        policy = self.settings.processed_policy
        if policy == "delete":
            item.path.unlink(missing_ok=True)
        elif policy == "keep":
            info = item.path.lstat()
            # Remembered before it reappears in the inbox, so no scan can pick it up again.
            self.ledger.remember_kept(item.relpath, info.st_size, info.st_mtime_ns)
            move_to(item.path, self.inbox, item.relpath)
        else:
            record = ArchiveRecord(
                stored_name=Path(item.relpath).name,
                source_file=item.relpath,
                sha256=item.sha256,
                size_bytes=item.size,
                content_type=item.parsed.content_type,
                articles=len(item.events),
                received_at=item.events[0].received_at,
                archived_at=utcnow(),
            )
            # The sidecar keeps the original name, which a numbered suffix would otherwise lose.
            move_to(
                item.path,
                processed_folder(self.settings.processed_dir),
                item.relpath,
                describe=lambda stored: write_sidecar(stored, record),
            )
        self.claims.forget(item.relpath)

    def _dead_letter_record(self, item: _InFlight, error: RecordError) -> None:
        publish_dead_letter(
            self.producer,
            DeadLetter(
                stage="ingest",
                reason=error.reason,
                message=error.message,
                source_file=item.relpath,
                line=error.line,
                sha256=item.sha256,
                article_id=article_id(item.relpath, item.sha256, error.part),
                payload=error.payload,
            ),
        )
        metrics.RECORDS_REJECTED.labels(error.reason).inc()

    def _write_record_report(self, item: _InFlight) -> None:
        folder = self.settings.rejected_dir / Path(item.relpath).parent
        folder.mkdir(parents=True, exist_ok=True)
        write_reason_file(
            folder / Path(item.relpath).name,
            {
                "file": item.relpath,
                "status": "partially_ingested",
                "stage": "ingest",
                "message": f"{len(item.events)} records were published; the {len(item.parsed.errors)} listed here "
                "were not. Fix them and drop them again in a new file.",
                "time": utcnow().isoformat(),
                "sha256": item.sha256,
                "records": [
                    {"part": e.part, "line": e.line, "reason": e.reason, "message": e.message, "payload": e.payload}
                    for e in item.parsed.errors
                ],
            },
        )

    # --- rejections and retries ----------------------------------------------------------------
    def _reject(self, relpath: str, path: Path, rejection: Rejection, sha256: str | None, size: int | None) -> Outcome:
        try:
            publish_dead_letter(
                self.producer,
                DeadLetter(
                    stage="ingest",
                    reason=rejection.reason,
                    message=rejection.message,
                    source_file=relpath,
                    sha256=sha256,
                ),
            )
        except KafkaError as exc:
            return self._retry(relpath, exc)  # the file stays claimed until its dead letter lands
        reason_record: dict[str, object] = {
            "file": relpath,
            "reason": rejection.reason,
            "message": rejection.message,
            "stage": "ingest",
            "time": utcnow().isoformat(),
            "sha256": sha256,
            "size_bytes": size,
        }
        # The reason file is written before the claim is let go: no file ends up rejected without one.
        move_to(
            path, self.settings.rejected_dir, relpath, describe=lambda stored: write_reason_file(stored, reason_record)
        )
        self.claims.forget(relpath)
        metrics.FILES_REJECTED.labels(rejection.reason).inc()
        log.warning(
            "file rejected",
            extra={"source_file": relpath, "reason": rejection.reason, "detail": rejection.message},
        )
        return Outcome(relpath, "rejected", reason=rejection.reason)

    def _retry(self, relpath: str, exc: Exception) -> Outcome:
        metrics.PUBLISH_RETRIES.inc()
        log.warning("broker did not acknowledge; will retry", extra={"source_file": relpath, "error": str(exc)})
        return Outcome(relpath, "retry")


def _identify(path: Path) -> tuple[str | None, int | None]:
    """sha256 and size of a regular file, for its reason file (None for links and devices)."""
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode):
            return None, None
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(_READ_CHUNK_BYTES):
                digest.update(chunk)
        return digest.hexdigest(), info.st_size
    except OSError:
        return None, None
