"""The ``newsflow`` command: run the whole pipeline, one service, or the migrations.

Each service command runs one service alone (docker-compose starts them this way, one per
container, and scales them out); ``run`` starts everything under one supervisor.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from shared.config import get_settings
from shared.logs import configure_logging

app = typer.Typer(
    name="newsflow",
    help="Event-driven news ingestion: watched folder -> Kafka -> reprints and entities -> Postgres read API.",
    no_args_is_help=True,
    add_completion=False,
)
log = logging.getLogger("newsflow")


class MigrationTarget(StrEnum):
    all = "all"
    store = "store"
    enrich = "enrich"


@app.command()
def run(
    enrich_replicas: Annotated[int, typer.Option(min=1, max=16, help="Enrich processes to run.")] = 1,
) -> None:
    """Start the whole pipeline (embedded broker and Postgres when none is configured)."""
    from services.ports import PortTaken
    from services.proc import stop_on_signals
    from services.supervisor import Supervisor

    settings = get_settings()
    configure_logging("supervisor", settings.log_level)
    stop = stop_on_signals()
    try:
        Supervisor(settings, enrich_replicas=enrich_replicas).run(stop)
    except PortTaken as exc:
        typer.echo(f"newsflow cannot start: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command()
def ingest(
    path: Annotated[
        Path | None, typer.Argument(help="With --once: a folder or file to ingest (default: the inbox).")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Ingest PATH once and exit (a backfill).")] = False,
) -> None:
    """Run the ingest service: watch the inbox and publish each file to Kafka."""
    from services.ingest.main import run as run_ingest
    from services.ingest.main import run_once
    from services.proc import stop_on_signals

    settings = get_settings()
    configure_logging("ingest", settings.log_level)
    if once:
        raise typer.Exit(run_once(settings, path or settings.inbox))
    if path is not None:
        raise typer.BadParameter("PATH is only for --once; the service watches NEWSFLOW_INBOX.", param_hint="PATH")
    run_ingest(settings, stop_on_signals())


@app.command()
def replay(
    path: Annotated[
        Path | None, typer.Argument(help="A file or folder under the processed archive (default: all of it).")
    ] = None,
) -> None:
    """Re-publish archived files (after a broker loss); the same files make the same articles."""
    from services.ingest.replay import replay as run_replay

    settings = get_settings()
    configure_logging("ingest", settings.log_level)
    raise typer.Exit(run_replay(settings, path or settings.processed_dir))


@app.command()
def enrich() -> None:
    """Run the enrich service: reprint detection and entity tagging."""
    from services.enrich.main import run as run_enrich
    from services.proc import stop_on_signals

    settings = get_settings()
    configure_logging("enrich", settings.log_level)
    run_enrich(settings, stop_on_signals())


@app.command()
def store() -> None:
    """Run the store service: persist enriched articles and serve the read API."""
    from services.proc import stop_on_signals
    from services.store.main import run as run_store

    settings = get_settings()
    configure_logging("store", settings.log_level)
    run_store(settings, stop_on_signals())


@app.command()
def migrate(
    service: Annotated[MigrationTarget, typer.Option(help="Whose schema to migrate.")] = MigrationTarget.all,
    revision: Annotated[str, typer.Option(help="Target revision ('head', a revision id, or '-1').")] = "head",
    downgrade: Annotated[bool, typer.Option("--downgrade", help="Downgrade to REVISION instead.")] = False,
) -> None:
    """Apply (or roll back) the database migrations."""
    from shared.db import MIGRATION_SETS, run_migrations

    settings = get_settings()
    configure_logging("migrate", settings.log_level)
    url = settings.require_database()
    targets = list(MIGRATION_SETS) if service is MigrationTarget.all else [service.value]
    if downgrade:
        targets.reverse()  # undo dependants first
    for target in targets:
        run_migrations(url, service=target, revision=revision, downgrade=downgrade)
        typer.echo(f"{target}: {'downgraded' if downgrade else 'upgraded'} to {revision}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
