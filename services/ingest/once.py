"""``newsflow ingest PATH --once``: a one-shot backfill with a live progress bar and a closing summary.

The user's folder is theirs: by default (``--sources keep``) every file is first copied into a
staging folder in the data dir and ingested from there, so the folder is left exactly as it was
and the archive (``processed/``) keeps its own copy of each published file (rejected copies go
to ``rejected/`` with their reason). ``--sources move`` ingests the files in place and moves them
into the archive; ``--sources delete`` deletes each one once it is published. The summary says
which happened.

While the bar is shown the JSON log lines go to the log file (``logs/backfill.log`` in the data
dir); warnings are shown above the bar as one short line each.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from services.ingest.handover import CountsWriter
from services.ingest.inbox import Candidate, scan_inbox
from services.ingest.processor import Outcome
from services.ingest.service import IngestService
from services.ingest.sources import SourceHandling
from shared.config import ProcessedPolicy, Settings
from shared.kafka import ensure_topics

# Consecutive failed rounds with the broker after which a one-shot run gives up (~1 minute).
GIVE_UP_AFTER_FAILED_ROUNDS: Final = 7
# Where the copies of a --sources keep backfill wait to be ingested (under the data dir).
STAGING_DIR: Final = Path("ingest") / "backfill"
LOG_FILE_NAME: Final = "backfill.log"


@dataclass(frozen=True)
class OnceSummary:
    """What a one-shot run did, file by file counted."""

    published_files: int = 0
    articles: int = 0
    duplicates: int = 0
    bad_records: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    unfinished: int = 0

    @property
    def exit_code(self) -> int:
        """0 when every file was published; 1 when any was rejected or is left unfinished."""
        return 1 if self.rejected or self.unfinished else 0


def run_once(
    settings: Settings,
    path: Path,
    *,
    sources: SourceHandling = SourceHandling.keep,
    stop: threading.Event | None = None,
    log_file: Path | None = None,
) -> int:
    """Ingest the folder or file ``path`` once, print the summary; 0 if every file was published, else 1."""
    console = Console(stderr=True)
    path = Path(os.path.abspath(path))  # "../x" shown and used as the folder it names (links are kept)
    if not path.exists() and not path.is_symlink():
        console.print(f"[red]{escape(str(path))} does not exist[/red]: give a folder or a file to ingest.")
        return 1
    if log_file is not None:
        console.print(f"Log lines go to {escape(str(log_file))}")
    try:
        summary = backfill(settings, path, sources=sources, stop=stop, console=console)
    except RuntimeError as exc:
        # Set-up problems people can fix (no broker configured, a folder ingest cannot write).
        console.print(f"[red]Nothing ingested[/red]: {escape(str(exc))}")
        return 1
    out = Console()
    out.print(summary_table(summary))
    out.print(sources_note(settings, path, sources, summary), markup=False, highlight=False)
    return summary.exit_code


def backfill(
    settings: Settings,
    path: Path,
    *,
    sources: SourceHandling = SourceHandling.keep,
    stop: threading.Event | None = None,
    console: Console | None = None,
) -> OnceSummary:
    """Ingest the folder or file ``path`` (it must exist) until nothing is left, with a progress bar."""
    path = Path(os.path.abspath(path))  # "../x" shown and used as the folder it names (links are kept)
    folder, only = (path.parent, {path.name}) if path.is_file() or path.is_symlink() else (path, None)
    stop = stop or threading.Event()
    settings.require_kafka()
    ensure_topics(settings)
    staging: Path | None = None
    if sources is SourceHandling.keep:
        staging = _stage_copies(settings, folder, only)
        folder = staging
    policy = _policy(settings, sources)
    service = IngestService(settings.model_copy(update={"processed_policy": policy}), stop, inbox=folder)
    service.processor.origin = "backfill"
    # The running ingest service adds this run's counts to its own figures (throughput, rejects).
    counts = CountsWriter(settings.data_dir)
    outcomes: list[Outcome] = []
    try:
        total = len(service.scan(only)) + len(service.claims.pending())
        with Progress(
            TextColumn("ingesting"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
        ) as progress:
            task = progress.add_task("files", total=total)
            outcomes = _LiveOutcomes(lambda done: progress.update(task, completed=done, total=max(total, done)))
            with _warnings_above(progress.console):
                while not stop.is_set():
                    service.run_cycle(only, outcomes)
                    counts.flush()
                    if not service.scan(only) and not service.claims.pending():
                        break
                    if service._failures >= GIVE_UP_AFTER_FAILED_ROUNDS:
                        progress.console.print(
                            "[red]The broker does not acknowledge; files not yet published stay claimed.[/red]"
                        )
                        break
                    service.wake.wait(service.tracker.seconds_until_due() or 0.1)
        # Counted before closing: the scan reads the ledger under the "keep" policy.
        unfinished = len(service.scan(only)) + len(service.claims.pending())
    finally:
        counts.flush()
        service.close()
        if staging is not None:
            # The originals are untouched; copies not yet claimed are dropped (claimed ones stay
            # claimed, to be finished by the next ingest of this data dir).
            shutil.rmtree(staging, ignore_errors=True)
    return summarise(outcomes, unfinished)


def _policy(settings: Settings, sources: SourceHandling) -> ProcessedPolicy:
    """What the ingest replica does with a published file (the one it reads: the copy, or the source)."""
    if sources is SourceHandling.keep:
        # The copy goes into the archive, unless the installation keeps no archive at all.
        return "delete" if settings.processed_policy == "delete" else "move"
    return "move" if sources is SourceHandling.move else "delete"


def _stage_copies(settings: Settings, folder: Path, only: set[str] | None) -> Path:
    """Copy what an ingest of ``folder`` would take into a new staging folder in the data dir; its path.

    Modification times are kept, so files are ingested in the same order; links are copied as
    links and special files as FIFOs, so they are rejected as they would be in place.
    """
    staging = settings.data_dir.absolute() / STAGING_DIR / uuid.uuid4().hex
    staging.mkdir(parents=True)
    candidates = scan_inbox(
        folder, recursive=settings.inbox_recursive, include=settings.include_globs, exclude=settings.exclude_globs
    )
    for candidate in candidates:
        if only is None or candidate.relpath in only:
            _copy_one(candidate, staging / candidate.relpath)
    return staging


def _copy_one(candidate: Candidate, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        if candidate.kind == "symlink":
            os.symlink(os.readlink(candidate.path), target)
        elif candidate.kind == "file":
            shutil.copy2(candidate.path, target)
        else:
            os.mkfifo(target)
            info = candidate.path.lstat()
            os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))
    except FileNotFoundError:
        return  # removed since it was listed: nothing to ingest


class _LiveOutcomes(list[Outcome]):
    """The outcomes of a backfill; the service adds them batch by batch, and each batch moves the bar."""

    def __init__(self, on_count: Callable[[int], None]) -> None:
        super().__init__()
        self._on_count = on_count

    def extend(self, outcomes: Iterable[Outcome]) -> None:
        super().extend(outcomes)
        self._on_count(len(self))


class _RateColumn(ProgressColumn):
    """Files per second, once there is a rate to show."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.1f} files/s", style="progress.data.speed")


class _ConsoleWarnings(logging.Handler):
    """Warnings and errors as one short line above the progress bar (the full JSON line is in the log file)."""

    def __init__(self, console: Console) -> None:
        super().__init__(logging.WARNING)
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith("services."):
            return  # the libraries' and the dead-letter helper's lines repeat what ingest says
        details = [str(getattr(record, key)) for key in ("source_file", "reason", "error") if hasattr(record, key)]
        suffix = f": {', '.join(details)}" if details else ""
        style = "red" if record.levelno >= logging.ERROR else "yellow"
        self.console.print(f"[{style}]{escape(record.getMessage())}[/{style}]{escape(suffix)}")


@contextmanager
def _warnings_above(console: Console) -> Iterator[None]:
    """Warnings shown above the bar while it is on screen, when the log lines go to a file."""
    root = logging.getLogger()
    if not any(isinstance(handler, logging.FileHandler) for handler in root.handlers):
        yield  # the log lines are on the terminal already
        return
    handler = _ConsoleWarnings(console)
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)


def summarise(outcomes: list[Outcome], unfinished: int = 0) -> OnceSummary:
    published = [o for o in outcomes if o.status == "published"]
    return OnceSummary(
        published_files=len(published),
        articles=sum(o.articles for o in published),
        duplicates=sum(o.duplicate for o in published),
        bad_records=sum(o.bad_records for o in published),
        rejected=dict(Counter(str(o.reason) for o in outcomes if o.status == "rejected")),
        unfinished=unfinished,
    )


def sources_note(settings: Settings, path: Path, sources: SourceHandling, summary: OnceSummary) -> str:
    """One sentence saying what happened to the files of ``path``."""
    data_dir = settings.data_dir.absolute()
    rejected = f" Rejected files: {data_dir / 'rejected'}, each with a <name>.error.json." if summary.rejected else ""
    if sources is SourceHandling.keep:
        kept = (
            "no copy is archived (NEWSFLOW_PROCESSED_POLICY=delete)"
            if settings.processed_policy == "delete"
            else f"the archive keeps its own copy of each published file under {data_dir / 'processed'}"
        )
        return f"Sources: the files in {path} were left as they were; {kept}.{rejected}"
    if sources is SourceHandling.move:
        return f"Sources: published files were moved out of {path} into {data_dir / 'processed'}.{rejected}"
    return f"Sources: published files were deleted from {path} (no archived copy).{rejected}"


def summary_table(summary: OnceSummary) -> Table:
    """Published, duplicates, bad records and rejections by reason, as a table."""
    table = Table(title="newsflow ingest summary")
    table.add_column("outcome")
    table.add_column("files", justify="right")
    table.add_column("articles", justify="right")
    table.add_row("published", str(summary.published_files), str(summary.articles))
    table.add_row("  of which duplicates (bytes seen before)", str(summary.duplicates), "")
    if summary.bad_records:
        table.add_row("  bad records dead-lettered", "", str(summary.bad_records))
    for reason, count in sorted(summary.rejected.items()):
        table.add_row(f"rejected: {reason}", str(count), "")
    if summary.unfinished:
        table.add_row("not finished (still claimed or waiting)", str(summary.unfinished), "")
    return table
