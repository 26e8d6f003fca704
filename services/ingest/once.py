"""``newsflow ingest PATH --once``: a one-shot backfill with a progress bar and a closing summary."""

from __future__ import annotations

import threading
from collections import Counter
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


def run_once(settings: Settings, path: Path, *, stop: threading.Event | None = None) -> int:
    """Ingest the folder or file ``path`` once; 0 if every file was published, else 1."""
    console = Console(stderr=True)
    path = path.absolute()
    if not path.exists():
        console.print(f"[red]{path} does not exist[/red]: give a folder or a file to ingest.")
        return 1
    inbox, only = (path.parent, {path.name}) if path.is_file() or path.is_symlink() else (path, None)
    stop = stop or threading.Event()
    ensure_topics(settings)
    service = IngestService(settings, stop, inbox=inbox)
    outcomes: list[Outcome] = []
    try:
        total = len(service.scan(only)) + len(service.claims.pending())
        with Progress(
            TextColumn("ingesting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as progress:
            task = progress.add_task("files", total=total)
            while not stop.is_set():
                service.run_cycle(only, outcomes)
                progress.update(task, completed=len(outcomes), total=max(total, len(outcomes)))
                if not service.scan(only) and not service.claims.pending():
                    break
                if service._failures >= GIVE_UP_AFTER_FAILED_ROUNDS:
                    console.print("[red]The broker does not acknowledge; files not yet published stay claimed.[/red]")
                    break
                service.wake.wait(service.tracker.seconds_until_due() or 0.1)
    finally:
        service.close()
    unfinished = len(service.scan(only)) + len(service.claims.pending())
    Console().print(summary_table(outcomes, unfinished))
    rejected = any(o.status == "rejected" for o in outcomes)
    return 1 if rejected or unfinished else 0


def summary_table(outcomes: list[Outcome], unfinished: int = 0) -> Table:
    """Published, duplicates, bad records and rejections by reason, as a table."""
    published = [o for o in outcomes if o.status == "published"]
    reasons = Counter(o.reason for o in outcomes if o.status == "rejected")
    table = Table(title="newsflow ingest summary")
    table.add_column("outcome")
    table.add_column("files", justify="right")
    table.add_column("articles", justify="right")
    table.add_row("published", str(len(published)), str(sum(o.articles for o in published)))
    table.add_row("  of which duplicates (bytes seen before)", str(sum(o.duplicate for o in published)), "")
    bad_records = sum(o.bad_records for o in published)
    if bad_records:
        table.add_row("  bad records dead-lettered", "", str(bad_records))
    for reason, count in sorted(reasons.items(), key=lambda item: str(item[0])):
        table.add_row(f"rejected: {reason}", str(count), "")
    if unfinished:
        table.add_row("not finished (still claimed or waiting)", str(unfinished), "")
    return table
