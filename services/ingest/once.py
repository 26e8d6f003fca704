"""``newsflow ingest PATH --once``: a one-shot backfill with a progress bar and a closing summary."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.ingest.processor import Outcome
from services.ingest.service import IngestService
from shared.config import Settings
from shared.kafka import ensure_topics

# Consecutive failed rounds with the broker after which a one-shot run gives up (~1 minute).
GIVE_UP_AFTER_FAILED_ROUNDS: Final = 7


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


def run_once(settings: Settings, path: Path, *, stop: threading.Event | None = None) -> int:
    """Ingest the folder or file ``path`` once, print the summary; 0 if every file was published, else 1."""
    console = Console(stderr=True)
    path = path.absolute()
    if not path.exists() and not path.is_symlink():
        console.print(f"[red]{path} does not exist[/red]: give a folder or a file to ingest.")
        return 1
    try:
        summary = backfill(settings, path, stop=stop, console=console)
    except RuntimeError as exc:
        # Set-up problems people can fix (no broker configured, a folder ingest cannot write).
        console.print(f"[red]Nothing ingested[/red]: {exc}")
        return 1
    Console().print(summary_table(summary))
    return summary.exit_code


def backfill(
    settings: Settings, path: Path, *, stop: threading.Event | None = None, console: Console | None = None
) -> OnceSummary:
    """Ingest the folder or file ``path`` (it must exist) until nothing is left, with a progress bar."""
    path = path.absolute()
    inbox, only = (path.parent, {path.name}) if path.is_file() or path.is_symlink() else (path, None)
    stop = stop or threading.Event()
    ensure_topics(settings)
    service = IngestService(settings, stop, inbox=inbox)
    outcomes: list[Outcome] = []
    try:
        total = len(service.scan(only)) + len(service.claims.pending())
        with Progress(
            TextColumn("ingesting"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
        ) as progress:
            task = progress.add_task("files", total=total)
            while not stop.is_set():
                service.run_cycle(only, outcomes)
                progress.update(task, completed=len(outcomes), total=max(total, len(outcomes)))
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
        service.close()
    return summarise(outcomes, unfinished)


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
