"""Handling claimed files: read, parse, publish, wait for acks, then move; or reject with a reason.

Order is what makes it safe: a file leaves the claim folder only after the broker acknowledged
every article of it (or its dead letter). A crash before that leaves it claimed, and it is
published again with the same identity; a crash after it finishes the move without publishing
again (the ledger remembers the acknowledgement).

Each file is its own failure boundary: whatever goes wrong with one file (a bug in a parser, a
name the filesystem refuses) rejects that file with reason ``internal_error`` and the batch goes
on. A file that still cannot be finished, or that made the process die, is tried
``MAX_ATTEMPTS`` times and then set aside in ``quarantine/`` with a reason file.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, Final, TypeVar

from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError, MessageSizeTooLargeError

from services.ingest import metrics
from services.ingest.archive import ArchiveRecord, write_sidecar
from services.ingest.articles import raw_articles
from services.ingest.claims import ClaimStore
from services.ingest.disposition import move_to, processed_folder, write_reason_file
from services.ingest.ledger import ClaimState, Ledger
from services.ingest.names import display_name, stored_relpath
from services.ingest.outcome import Outcome
from services.ingest.parsing.article import ParsedFile
from services.ingest.parsing.errors import Rejection
from services.ingest.parsing.formats import parse_file
from services.ingest.reading import read_claimed
from services.ingest.rejections import Rejecting, Rejections, short_error
from shared.config import Settings
from shared.events import TOPIC_RAW, Origin, RawArticle, utcnow
from shared.identity import sha256_hex

log = logging.getLogger(__name__)
T = TypeVar("T")

# How long to wait for the broker to acknowledge a file's articles before retrying it later.
ACK_TIMEOUT_SECONDS: Final = 30.0
# Waiting is sliced so a stop request is noticed quickly.
_ACK_POLL_SECONDS: Final = 0.2

# Attempts at one claimed file (process deaths included) before it is quarantined.
MAX_ATTEMPTS: Final = 3
_MAX_ERROR_CHARS: Final = 500


@dataclass(frozen=True)
class _Claimed:
    """A file in the claim folder: its inbox-relative path, the name events give it, its ledger key."""

    relpath: str
    source: str
    claim_key: str
    path: Path


@dataclass
class _InFlight:
    relpath: str
    source: str
    claim_key: str
    path: Path
    sha256: str
    size: int
    parsed: ParsedFile
    events: list[RawArticle]
    futures: list[object] = field(default_factory=list)
    sent_at: float = 0.0
    duplicate: bool = False


class FileProcessor(Rejections):
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
        # Claimed files that could not even be quarantined: not tried again by this process.
        self.stuck: set[str] = set()

    def process(self, relpaths: list[str]) -> list[Outcome]:
        """Handle claimed files: the fresh ones as one batch, then each one tried before on its own.

        A file handled before without finishing (its process died, or even rejecting it failed) is
        a suspect: alone in its batch, it can only take itself down, never republish the others.
        """
        outcomes: list[Outcome] = []
        fresh: list[_Claimed] = []
        suspects: list[tuple[int, _Claimed]] = []
        for relpath in relpaths:
            path = self.claims.path_of(relpath)
            source = display_name(relpath)
            try:
                claim_key = _claim_key(path, source)
            except FileNotFoundError:
                continue  # gone meanwhile (another replica adopted it back, or a person removed it)
            if claim_key in self.stuck:
                continue
            claimed = _Claimed(relpath, source, claim_key, path)
            state = self.ledger.claim_state(claim_key)
            if state.attempts >= MAX_ATTEMPTS:
                outcomes.append(self._quarantine(relpath, path, claim_key, state))
            elif state.acknowledged is not None:
                self.ledger.begin_attempt(claim_key, source)
                resume = partial(self._resume, relpath, path, claim_key, state)
                outcomes.append(self._guarded(relpath, claim_key, resume))
            elif state.attempts:
                suspects.append((state.attempts, claimed))
            else:
                fresh.append(claimed)
        outcomes += self._process_batch(fresh)
        for _, suspect in sorted(suspects, key=lambda pair: pair[0]):
            outcomes += self._process_batch([suspect])
        return outcomes

    def _process_batch(self, batch: list[_Claimed]) -> list[Outcome]:
        """Read and parse every file, then send all their events and dead letters, then wait for all acks.

        Parsing comes first so that a file that makes the process die does so before anything of
        its batch is sent: no other file is published twice because of it. Sending everything
        before waiting makes the batch one round trip to the broker, rejections included.
        """
        outcomes: list[Outcome] = []
        prepared: list[_InFlight] = []
        refused: list[tuple[_Claimed, Rejection]] = []
        batch_hashes: set[str] = set()
        for claimed in batch:
            self.ledger.begin_attempt(claimed.claim_key, claimed.source)
            try:
                prepared.append(self._prepare(claimed, batch_hashes))
            except Rejection as rejection:
                refused.append((claimed, rejection))
            except Exception as exc:  # noqa: BLE001 - the per-file failure boundary; _internal_error logs it
                refused.append((claimed, self._internal_error(claimed.source, exc)))
        in_flight: list[_InFlight] = []
        for item in prepared:
            try:
                self._send(item)
                in_flight.append(item)
            except Rejection as rejection:
                outcomes.append(self._reject_guarded(item.relpath, item.path, item.claim_key, rejection))
            except KafkaError as exc:
                outcomes.append(self._retry(item.relpath, item.claim_key, exc))
            except Exception as exc:  # noqa: BLE001 - the per-file failure boundary; _internal_error logs it
                internal = self._internal_error(item.source, exc)
                outcomes.append(self._reject_guarded(item.relpath, item.path, item.claim_key, internal))
        rejecting: list[Rejecting] = []
        for claimed, refusal in refused:
            send = partial(self._send_rejection, claimed.relpath, claimed.path, claimed.claim_key, refusal)
            sent = self._guarded(claimed.relpath, claimed.claim_key, send)
            if isinstance(sent, Rejecting):
                rejecting.append(sent)
            else:
                outcomes.append(sent)
        for item in in_flight:
            try:
                outcomes.append(self._finish(item))
            except Exception as exc:  # noqa: BLE001 - the per-file failure boundary; both paths log it
                if self.ledger.claim_state(item.claim_key).acknowledged is not None:
                    # Published; only the move failed: finished on a later attempt, never published again.
                    outcomes.append(self._failed(item.relpath, item.claim_key, exc))
                else:
                    internal = self._internal_error(item.source, exc)
                    outcomes.append(self._reject_guarded(item.relpath, item.path, item.claim_key, internal))
        for pending in rejecting:
            outcomes.append(self._guarded(pending.relpath, pending.claim_key, partial(self._finish_rejection, pending)))
        return outcomes

    # --- reading and sending -------------------------------------------------------------------
    def _prepare(self, claimed: _Claimed, batch_hashes: set[str]) -> _InFlight:
        """Read and parse one claimed file into its events (nothing is sent yet)."""
        relpath, source = claimed.relpath, claimed.source
        data = read_claimed(relpath, claimed.path, self.inbox, self.settings)
        sha256 = sha256_hex(data)
        metrics.BYTES_READ.inc(len(data))
        try:
            parsed = parse_file(Path(source).name, data, max_bytes=self.settings.max_file_bytes)
        except Rejection:
            raise
        except Exception as exc:
            log.exception("parser failed", extra={"source_file": source})
            raise Rejection(
                "parse_failed",
                f"newsflow could not parse this file ({type(exc).__name__}: {short_error(exc)}); it is kept here: "
                "please report it with this file.",
            ) from exc
        events = raw_articles(
            parsed,
            source_file=source,
            sha256=sha256,
            size_bytes=len(data),
            received_at=self.received_at.get(relpath) or utcnow(),
            origin=self.origin,
        )
        # Bytes seen earlier in this batch count too: a backfill sends a batch before any is recorded.
        duplicate = sha256 in batch_hashes or self.ledger.seen_bytes(sha256)
        batch_hashes.add(sha256)
        return _InFlight(
            relpath, source, claimed.claim_key, claimed.path, sha256, len(data), parsed, events, duplicate=duplicate
        )

    def _send(self, item: _InFlight) -> None:
        item.sent_at = time.perf_counter()
        for event in item.events:
            try:
                future = self.producer.send(TOPIC_RAW, key=event.article_id.encode("utf-8"), value=event.to_bytes())
            except MessageSizeTooLargeError as exc:
                raise Rejection(
                    "too_large",
                    f"Article {event.part} is too large for the broker ({exc}); split the file or raise "
                    "NEWSFLOW_KAFKA_MAX_MESSAGE_BYTES.",
                ) from exc
            item.futures.append(future)

    # --- acknowledgements and moving -----------------------------------------------------------
    def _finish(self, item: _InFlight) -> Outcome:
        try:
            for future in item.futures:
                self._wait_ack(future)
        except MessageSizeTooLargeError as exc:
            return self._reject_guarded(
                item.relpath,
                item.path,
                item.claim_key,
                Rejection("too_large", f"An article is too large for the broker ({exc}); split the file."),
            )
        except KafkaError as exc:
            return self._retry(item.relpath, item.claim_key, exc)
        metrics.PUBLISH_LATENCY_SECONDS.observe(time.perf_counter() - item.sent_at)
        try:
            for error in item.parsed.errors:
                self._dead_letter_record(item, error)
        except KafkaError as exc:
            return self._retry(item.relpath, item.claim_key, exc)
        finish = {"kind": "published", "record": self._archive_record(item).model_dump(mode="json")}
        if item.parsed.errors:
            finish["report"] = self._record_report(item)
        # From here on the file is never published again, whatever happens to the process.
        self.ledger.acknowledge(item.claim_key, item.source, finish)
        self.ledger.record_published(item.sha256, item.source, item.events[0].article_id)
        self._dispose_published(item.relpath, item.path, finish)
        self.ledger.release(item.claim_key)
        metrics.FILES_PUBLISHED.labels(item.parsed.content_type).inc()
        metrics.ARTICLES_PUBLISHED.labels(item.parsed.content_type).inc(len(item.events))
        log.info(
            "published",
            extra={
                "source_file": item.source,
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

    def _archive_record(self, item: _InFlight) -> ArchiveRecord:
        return ArchiveRecord(
            stored_name=Path(item.relpath).name,
            source_file=item.source,
            sha256=item.sha256,
            size_bytes=item.size,
            content_type=item.parsed.content_type,
            articles=len(item.events),
            received_at=item.events[0].received_at,
            archived_at=utcnow(),
        )

    def _dispose_published(self, relpath: str, path: Path, finish: dict[str, Any]) -> None:
        """Move (or delete, or keep) a file whose events were acknowledged, as ``finish`` says."""
        report = finish.get("report")
        if report is not None:
            folder = self.settings.rejected_dir / Path(stored_relpath(relpath)).parent
            folder.mkdir(parents=True, exist_ok=True)
            write_reason_file(folder / Path(stored_relpath(relpath)).name, report)
        policy = self.settings.processed_policy
        if policy == "delete":
            path.unlink(missing_ok=True)
        elif policy == "keep":
            info = path.lstat()
            # Remembered before it reappears in the inbox, so no scan can pick it up again.
            self.ledger.remember_kept(display_name(relpath), info.st_size, info.st_mtime_ns)
            move_to(path, self.inbox, relpath)
        else:
            record = ArchiveRecord.model_validate(finish["record"])
            # The sidecar keeps the original name, which a numbered suffix or a stored name would lose.
            move_to(
                path,
                processed_folder(self.settings.processed_dir),
                stored_relpath(relpath),
                describe=lambda stored: write_sidecar(stored, record),
            )
        self.claims.forget(relpath)

    def _resume(self, relpath: str, path: Path, claim_key: str, state: ClaimState) -> Outcome:
        """Finish a file whose events (or dead letter) the broker acknowledged before a restart."""
        finish = state.acknowledged or {}
        source = display_name(relpath)
        log.info("finishing a file acknowledged before a restart", extra={"source_file": source})
        if finish.get("kind") == "rejected":
            reason = str(finish["reason_record"]["reason"])
            self._move_rejected(relpath, path, claim_key, finish)
            return Outcome(relpath, "rejected", reason=reason)
        self._dispose_published(relpath, path, finish)
        self.ledger.release(claim_key)
        return Outcome(relpath, "published", int(finish["record"]["articles"]))


def _claim_key(path: Path, source: str) -> str:
    """The identity of one claimed file: its inode (kept by renames and adoption) and its name."""
    info = path.lstat()
    return f"{info.st_dev}:{info.st_ino}:{source}"
