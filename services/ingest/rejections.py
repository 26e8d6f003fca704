"""The file processor's failure paths: dead letters, rejected and quarantined files, retries.

``Rejections`` is mixed into ``processor.FileProcessor``: publishing is that module's job, what
happens when a file (or one of its records) cannot be published is this one's. A rejected file
moves beside a reason file only once the broker acknowledged its dead letter.
"""

from __future__ import annotations

import hashlib
import logging
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

from kafka import KafkaProducer
from kafka.errors import KafkaError
from kafka.producer.future import FutureRecordMetadata

from services.ingest import metrics
from services.ingest.claims import ClaimStore
from services.ingest.disposition import move_to, write_reason_file
from services.ingest.ledger import ClaimState, Ledger
from services.ingest.names import display_name, stored_relpath
from services.ingest.outcome import Outcome
from services.ingest.parsing.article import RecordError
from services.ingest.parsing.errors import Rejection
from shared.config import Settings
from shared.dead_letter import dead_letter_acknowledged, publish_dead_letter, send_dead_letter
from shared.events import DeadLetter, utcnow
from shared.identity import article_id
from shared.text import escape_surrogates

if TYPE_CHECKING:
    from services.ingest.processor import _InFlight

# The processor's log lines keep one logger name, whichever of its modules writes them.
log = logging.getLogger("services.ingest.processor")
T = TypeVar("T")

_MAX_ERROR_CHARS: Final = 500
_READ_CHUNK_BYTES: Final = 1024 * 1024


@dataclass(frozen=True)
class Rejecting:
    """A file whose dead letter is on its way; once acknowledged it moves as ``finish`` says."""

    relpath: str
    source: str
    claim_key: str
    path: Path
    letter: DeadLetter
    future: FutureRecordMetadata
    finish: dict[str, Any]


class Rejections:
    """Dead-lettering, rejecting, quarantining and retrying claimed files (see the module's docstring)."""

    settings: Settings
    producer: KafkaProducer
    claims: ClaimStore
    ledger: Ledger
    stop: threading.Event
    received_at: dict[str, datetime]
    stuck: set[str]

    def _wait_ack(self, future: object) -> None:
        raise NotImplementedError

    def _dead_letter_record(self, item: _InFlight, error: RecordError) -> None:
        publish_dead_letter(
            self.producer,
            DeadLetter(
                stage="ingest",
                reason=error.reason,
                message=escape_surrogates(error.message),
                source_file=item.source,
                line=error.line,
                sha256=item.sha256,
                article_id=article_id(item.source, item.sha256, error.part),
                payload=escape_surrogates(error.payload) if error.payload else None,
            ),
        )
        metrics.RECORDS_REJECTED.labels(error.reason).inc()

    def _record_report(self, item: _InFlight) -> dict[str, Any]:
        return {
            "file": item.source,
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
        }

    # --- rejections, quarantine and retries -----------------------------------------------------
    def _reject_guarded(self, relpath: str, path: Path, claim_key: str, rejection: Rejection) -> Outcome:
        return self._guarded(relpath, claim_key, partial(self._reject, relpath, path, claim_key, rejection))

    def _guarded(self, relpath: str, claim_key: str, action: Callable[[], T]) -> T | Outcome:
        """``action()``, or a "retry" or "failed" outcome when even that raises (the file stays claimed)."""
        try:
            return action()
        except KafkaError as exc:
            return self._retry(relpath, claim_key, exc)
        except Exception as exc:  # noqa: BLE001 - the per-file failure boundary; _failed logs it
            return self._failed(relpath, claim_key, exc)

    def _reject(self, relpath: str, path: Path, claim_key: str, rejection: Rejection, **where: Any) -> Outcome:
        """Dead-letter the file, then move it to rejected/ (or ``folder=``) beside a reason file."""
        return self._finish_rejection(self._send_rejection(relpath, path, claim_key, rejection, **where))

    def _send_rejection(
        self,
        relpath: str,
        path: Path,
        claim_key: str,
        rejection: Rejection,
        *,
        folder: Path | None = None,
        details: dict[str, Any] | None = None,
    ) -> Rejecting:
        """Send the file's dead letter (not waiting for the broker) and describe where the file goes."""
        source = display_name(relpath)
        sha256, size = _identify(path)
        # Whatever a message quotes (a link's target, an error's text) goes into JSON: valid Unicode only.
        message = escape_surrogates(rejection.message)
        letter = DeadLetter(stage="ingest", reason=rejection.reason, message=message, source_file=source, sha256=sha256)
        reason_record: dict[str, Any] = {
            "file": source,
            "reason": rejection.reason,
            "message": message,
            "stage": "ingest",
            "time": utcnow().isoformat(),
            "sha256": sha256,
            "size_bytes": size,
            **(details or {}),
        }
        finish = {
            "kind": "rejected",
            "folder": str(folder or self.settings.rejected_dir),
            "reason_record": reason_record,
        }
        future = send_dead_letter(self.producer, letter)
        return Rejecting(relpath, source, claim_key, path, letter, future, finish)

    def _finish_rejection(self, rejecting: Rejecting) -> Outcome:
        """Once the broker acknowledged the dead letter: remember that, then move the file with its reason."""
        # A KafkaError here leaves the file claimed until its dead letter lands.
        self._wait_ack(rejecting.future)
        dead_letter_acknowledged(rejecting.letter)
        self.ledger.acknowledge(rejecting.claim_key, rejecting.source, rejecting.finish)
        self._move_rejected(rejecting.relpath, rejecting.path, rejecting.claim_key, rejecting.finish)
        reason, message = rejecting.letter.reason, rejecting.letter.message
        log.warning(
            "file quarantined" if reason == "quarantined" else "file rejected",
            extra={"source_file": rejecting.source, "reason": reason, "detail": message},
        )
        return Outcome(rejecting.relpath, "rejected", reason=reason)

    def _move_rejected(self, relpath: str, path: Path, claim_key: str, finish: dict[str, Any]) -> None:
        reason_record = finish["reason_record"]
        # The reason file is written before the claim is let go: no file ends up rejected without one.
        target = move_to(
            path,
            Path(finish["folder"]),
            stored_relpath(relpath),
            describe=lambda stored: write_reason_file(stored, {**reason_record, "stored_name": stored.name}),
        )
        self.claims.forget(relpath)
        self.ledger.release(claim_key)
        metrics.FILES_REJECTED.labels(str(reason_record["reason"])).inc()
        if target.name != Path(relpath).name:
            log.info(
                "stored under another name",
                extra={"source_file": display_name(relpath), "stored_name": target.name, "folder": str(target.parent)},
            )

    def _quarantine(self, relpath: str, path: Path, claim_key: str, state: ClaimState) -> Outcome:
        """Set aside a file newsflow failed on ``MAX_ATTEMPTS`` times; ``/health`` says so while it is there."""
        last = state.last_error or "the process stopped while handling it"
        published = (state.acknowledged or {}).get("kind") == "published"
        done = " Its articles were published; only archiving it failed." if published else ""
        rejection = Rejection(
            "quarantined",
            f"newsflow failed on this file {state.attempts} times in a row (last: {last}).{done} It is set aside "
            "so that other files go on; please report it with this file. To try it again, move it back into the "
            "inbox; to drop it, delete it and this reason file.",
        )
        details = {"attempts": state.attempts, "last_error": state.last_error, "published": published}
        folder = self.settings.quarantine_dir
        set_aside = partial(self._reject, relpath, path, claim_key, rejection, folder=folder, details=details)
        outcome = self._guarded(relpath, claim_key, set_aside)
        if outcome.status == "failed":
            # Not even set aside: leave it where it is, and stop trying in this process.
            self.stuck.add(claim_key)
            log.error("file could not be quarantined; left claimed", extra={"source_file": display_name(relpath)})
        return outcome

    def _internal_error(self, source: str, exc: Exception) -> Rejection:
        log.error(
            "unexpected error on one file; rejecting it and going on",
            extra={"source_file": source, "error": f"{type(exc).__name__}: {short_error(exc)}"},
            exc_info=exc,
        )
        return Rejection(
            "internal_error",
            f"newsflow failed on this file ({type(exc).__name__}: {short_error(exc)}). This is a fault of newsflow, "
            "not necessarily of the file: please report it with this file, which is kept here. Other files "
            "are not affected.",
        )

    def _failed(self, relpath: str, claim_key: str, exc: Exception) -> Outcome:
        error = f"{type(exc).__name__}: {short_error(exc)}"
        log.error(
            "could not finish a file; it stays claimed and is tried again",
            extra={"source_file": display_name(relpath), "error": error},
            exc_info=exc,
        )
        try:
            self.ledger.note_error(claim_key, error)
        except Exception:  # the ledger itself failing must not end the batch
            log.exception("ledger unavailable")
        return Outcome(relpath, "failed", reason="internal_error")

    def _retry(self, relpath: str, claim_key: str, exc: Exception) -> Outcome:
        metrics.PUBLISH_RETRIES.inc()
        self.ledger.undo_attempt(claim_key)  # the broker's trouble, not the file's
        log.warning(
            "broker did not acknowledge; will retry", extra={"source_file": display_name(relpath), "error": str(exc)}
        )
        return Outcome(relpath, "retry")


def short_error(exc: BaseException) -> str:
    """An exception's text, shortened and valid Unicode (it goes into JSON and logs)."""
    text = escape_surrogates(str(exc))
    return text if len(text) <= _MAX_ERROR_CHARS else text[:_MAX_ERROR_CHARS] + "…"


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
