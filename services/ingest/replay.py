"""``newsflow replay PATH``: re-publish archived files (after a broker loss) under their first identity.

Each file under ``processed/`` (or the part of it given) is checked against its sidecar (the same
bytes as when it was published), parsed under its original name, and published again: every
article gets the article_id it had the first time, so the store's upsert keeps one record. The
archive is only read, never moved or deleted. Bad records of JSON Lines files are not sent to the
dead-letter topic again: their reason files in ``rejected/`` already list them.
"""

from __future__ import annotations

import logging
import os
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from kafka import KafkaProducer
from kafka.errors import KafkaError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.ingest import metrics
from services.ingest.archive import ArchivedFile, archived_files, sidecar_path
from services.ingest.articles import raw_articles
from services.ingest.handover import CountsWriter
from services.ingest.parsing.errors import Rejection
from services.ingest.parsing.formats import parse_file
from services.ingest.processor import ACK_TIMEOUT_SECONDS
from shared.config import Settings
from shared.events import TOPIC_RAW, RawArticle
from shared.identity import sha256_hex
from shared.kafka import ensure_topics, make_producer

log = logging.getLogger(__name__)

# Files sent before waiting for their acknowledgements: one round trip each, bounded memory.
REPLAY_BATCH_FILES: Final = 64
# How many files that could not be replayed are listed by name under the summary.
LISTED_PROBLEMS_MAX: Final = 20
_PRODUCER_CLOSE_SECONDS: Final = 5.0
_PUBLISH_FAILED: Final = "publish_failed"

ReplayStatus = Literal["replayed", "not_replayed"]


@dataclass(frozen=True)
class ReplayOutcome:
    """What happened to one archived file."""

    path: Path
    status: ReplayStatus
    source_file: str | None = None
    article_ids: tuple[str, ...] = ()
    reason: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class ReplaySummary:
    replayed_files: int = 0
    articles: int = 0
    not_replayed: dict[str, int] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 when every archived file was published again, else 1."""
        return 1 if self.not_replayed else 0


class _NotReplayable(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


def replay(settings: Settings, path: Path) -> int:
    """Re-publish the archived files at ``path``; print a summary; 0 if all were replayed, else 1."""
    console = Console(stderr=True)
    path = path.absolute()
    if not path.exists():
        console.print(
            f"[red]{path} does not exist[/red]: give a file or folder under the processed archive "
            f"({settings.processed_dir.absolute()})."
        )
        return 1
    if settings.kafka_bootstrap_servers is None:
        console.print(
            "[red]No broker to replay to[/red]: set KAFKA_BOOTSTRAP_SERVERS (host:port), or run the replay "
            "while `newsflow run` is up (its broker is found through run.json in the data dir)."
        )
        return 1
    try:
        outcomes = replay_archive(settings, path, console=console)
    except (KafkaError, RuntimeError) as exc:
        # The broker is unreachable before anything was sent: nothing to summarise.
        console.print(f"[red]Nothing replayed[/red]: {exc}")
        return 1
    if not outcomes:
        hint = (
            ""
            if settings.processed_policy == "move"
            else f" (NEWSFLOW_PROCESSED_POLICY is '{settings.processed_policy}': published files are not archived)"
        )
        console.print(f"Nothing to replay under {path}{hint}.")
    summary = summarise(outcomes)
    Console().print(summary_table(summary))
    problems = [o for o in outcomes if o.status == "not_replayed"]
    for outcome in problems[:LISTED_PROBLEMS_MAX]:
        console.print(f"[yellow]{outcome.path}[/yellow]: {outcome.message}")
    if len(problems) > LISTED_PROBLEMS_MAX:
        console.print(f"... and {len(problems) - LISTED_PROBLEMS_MAX} more (see the log).")
    return summary.exit_code


def replay_archive(settings: Settings, path: Path, *, console: Console | None = None) -> list[ReplayOutcome]:
    """Publish every archived file at ``path`` again, in path order (oldest day first)."""
    files = archived_files(path)
    if not files:
        return []
    ensure_topics(settings)
    producer = make_producer(settings, client_id="newsflow-replay")
    # The running ingest service adds what the replay published to its throughput figures.
    counts = CountsWriter(settings.data_dir)
    outcomes: list[ReplayOutcome] = []
    try:
        with Progress(
            TextColumn("replaying"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
        ) as progress:
            task = progress.add_task("files", total=len(files))
            for start in range(0, len(files), REPLAY_BATCH_FILES):
                done, broker_failed = _replay_batch(settings, producer, files[start : start + REPLAY_BATCH_FILES])
                outcomes += done
                counts.flush()
                progress.update(task, completed=len(outcomes))
                if broker_failed:
                    # Without the broker every further file would fail the same way: stop here.
                    why = "the replay stopped at an earlier broker failure"
                    outcomes += [_unpublished(rest.path, why) for rest in files[len(outcomes) :]]
                    break
    finally:
        producer.close(timeout=_PRODUCER_CLOSE_SECONDS)
        counts.flush()
    return outcomes


def _replay_batch(
    settings: Settings, producer: KafkaProducer, batch: list[ArchivedFile]
) -> tuple[list[ReplayOutcome], bool]:
    """Outcomes of ``batch``, and whether the broker failed (the unpublished rest is ``publish_failed``)."""
    outcomes: list[ReplayOutcome] = []
    sent: list[tuple[ArchivedFile, list[RawArticle], list[object]]] = []
    for position, item in enumerate(batch):
        try:
            events = _events_of(settings, item)
        except _NotReplayable as refusal:
            log.warning(
                "not replayed", extra={"path": str(item.path), "reason": refusal.reason, "detail": refusal.message}
            )
            outcomes.append(ReplayOutcome(item.path, "not_replayed", reason=refusal.reason, message=refusal.message))
            continue
        try:
            futures = [
                producer.send(TOPIC_RAW, key=event.article_id.encode("utf-8"), value=event.to_bytes())
                for event in events
            ]
        except KafkaError as exc:
            return _with_failure(outcomes, sent, batch[position:], exc), True
        sent.append((item, events, futures))
    for number, (item, events, futures) in enumerate(sent):
        try:
            for future in futures:
                future.get(timeout=ACK_TIMEOUT_SECONDS)  # type: ignore[attr-defined]
        except KafkaError as exc:
            return _with_failure(outcomes, sent[number:], [], exc), True
        source_file = events[0].source_file
        metrics.FILES_PUBLISHED.labels(events[0].content_type).inc()
        metrics.ARTICLES_PUBLISHED.labels(events[0].content_type).inc(len(events))
        metrics.BYTES_READ.inc(item.record.size_bytes if item.record else 0)
        log.info(
            "replayed",
            extra={
                "path": str(item.path),
                "source_file": source_file,
                "article_id": events[0].article_id,
                "articles": len(events),
            },
        )
        outcomes.append(ReplayOutcome(item.path, "replayed", source_file, tuple(e.article_id for e in events)))
    return outcomes, False


def _with_failure(
    outcomes: list[ReplayOutcome],
    unacknowledged: list[tuple[ArchivedFile, list[RawArticle], list[object]]],
    unsent: list[ArchivedFile],
    exc: KafkaError,
) -> list[ReplayOutcome]:
    log.error("broker did not acknowledge; replay stopped", extra={"error": str(exc)})
    why = f"the broker did not acknowledge ({exc})"
    failed = [item.path for item, _, _ in unacknowledged] + [item.path for item in unsent]
    # Keep the batch's order: files refused before the failure are already in ``outcomes``.
    return outcomes + [_unpublished(path, why) for path in failed]


def _unpublished(path: Path, why: str) -> ReplayOutcome:
    return ReplayOutcome(
        path, "not_replayed", reason=_PUBLISH_FAILED, message=f"Not published: {why}; run the replay again."
    )


def _events_of(settings: Settings, item: ArchivedFile) -> list[RawArticle]:
    """The events the archived file gave when first published (same ids, same content)."""
    record = item.record
    if record is None:
        raise _NotReplayable(
            "no_sidecar",
            f"It has no sidecar ({sidecar_path(item.path).name}), so the name it was published under is "
            "unknown and a replay could store it twice. To ingest it, copy it into the inbox under its "
            "original name.",
        )
    data = _read_archived(item.path, record.size_bytes)
    if len(data) != record.size_bytes or sha256_hex(data) != record.sha256:
        raise _NotReplayable(
            "changed",
            f"Its bytes differ from those published as {record.source_file} (sha256 {record.sha256[:12]}...): "
            "it was modified after archiving, and replaying it would make a different article. "
            "Restore it from a backup.",
        )
    try:
        parsed = parse_file(
            Path(record.source_file).name, data, max_bytes=max(settings.max_file_bytes, record.size_bytes)
        )
    except Rejection as rejection:
        raise _NotReplayable(rejection.reason, f"It no longer parses: {rejection.message}") from rejection
    return raw_articles(
        parsed,
        source_file=record.source_file,
        sha256=record.sha256,
        size_bytes=record.size_bytes,
        received_at=record.received_at,
        origin="replay",
    )


def _read_archived(path: Path, size_bytes: int) -> bytes:
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode):
            raise _NotReplayable(
                "not_a_regular_file", "It is not a regular file (a link or a device); nothing was published."
            )
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as handle:
            # One byte more than published is enough to tell the file grew.
            return handle.read(size_bytes + 1)
    except OSError as exc:
        raise _NotReplayable("unreadable", f"It could not be read ({exc.strerror}); check its permissions.") from exc


def summarise(outcomes: list[ReplayOutcome]) -> ReplaySummary:
    replayed = [o for o in outcomes if o.status == "replayed"]
    return ReplaySummary(
        replayed_files=len(replayed),
        articles=sum(len(o.article_ids) for o in replayed),
        not_replayed=dict(Counter(str(o.reason) for o in outcomes if o.status == "not_replayed")),
    )


def summary_table(summary: ReplaySummary) -> Table:
    table = Table(title="newsflow replay summary")
    table.add_column("outcome")
    table.add_column("files", justify="right")
    table.add_column("articles", justify="right")
    table.add_row("published again", str(summary.replayed_files), str(summary.articles))
    for reason, count in sorted(summary.not_replayed.items()):
        table.add_row(f"not replayed: {reason}", str(count), "")
    return table
