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

from services.ingest.sources import SourceHandling
from shared.config import Settings, get_settings
from shared.logs import configure_logging
from shared.run_info import Pipeline, with_running_pipeline

app = typer.Typer(
    name="newsflow",
    help="Event-driven news ingestion: watched folder -> Kafka -> reprints and entities -> Postgres read API.",
    no_args_is_help=True,
    add_completion=False,
)
log = logging.getLogger("newsflow")


def _pipeline(*, broker: bool = True, database: bool = False, announce: bool = True) -> Settings:
    """The settings, with the broker, database and data dir of a running ``newsflow run`` where the
    environment names none; ``announce`` prints which were used (one line each) on stderr, else logs them."""
    pipeline: Pipeline = with_running_pipeline(get_settings())
    lines = pipeline.describe(broker=broker, database=database)
    if announce:
        typer.echo("\n".join(lines), err=True)
    else:
        log.info("pipeline: " + "; ".join(line.strip() for line in lines))
    return pipeline.settings


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
    from services.proc import stop_on_signals, stop_with_make
    from services.supervisor import SUPERVISOR_LOG, Supervisor

    settings = get_settings()
    # A quiet start: the terminal gets the banner, one line per service and any warning; the
    # detail (embedded Postgres, migrations) goes to the supervisor's log file.
    log_file = settings.data_dir.absolute() / "logs" / SUPERVISOR_LOG
    configure_logging("supervisor", settings.log_level, log_file=log_file, console_level=logging.WARNING)
    stop = stop_on_signals()
    stop_with_make(stop)
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
    sources: Annotated[
        SourceHandling,
        typer.Option(
            "--sources",
            help="With --once, what happens to the files of PATH: keep (left as they are; the archive keeps "
            "a copy), move (into the archive, processed/), or delete (once published).",
        ),
    ] = SourceHandling.keep,
) -> None:
    """Run the ingest service: watch the inbox and publish each file to Kafka."""
    from services.ingest.main import run as run_ingest
    from services.ingest.once import LOG_FILE_NAME, run_once
    from services.proc import stop_on_signals

    if path is not None and not once:
        raise typer.BadParameter("PATH is only for --once; the service watches NEWSFLOW_INBOX.", param_hint="PATH")
    if once:
        settings = _pipeline()
        # The terminal shows the progress bar; the JSON log lines go to the data dir's logs.
        log_file = settings.data_dir.absolute() / "logs" / LOG_FILE_NAME
        configure_logging("ingest", settings.log_level, log_file=log_file)
        raise typer.Exit(run_once(settings, path or settings.inbox, sources=sources, log_file=log_file))
    configure_logging("ingest", get_settings().log_level)
    run_ingest(_pipeline(announce=False), stop_on_signals())


@app.command()
def replay(
    path: Annotated[
        Path | None, typer.Argument(help="A file or folder under the processed archive (default: all of it).")
    ] = None,
) -> None:
    """Re-publish archived files (after a broker loss); the same files make the same articles."""
    from services.ingest.replay import replay as run_replay

    settings = _pipeline()
    # The terminal shows the progress bar and the summary; the JSON log lines go to the data dir's logs.
    log_file = settings.data_dir.absolute() / "logs" / "replay.log"
    configure_logging("ingest", settings.log_level, log_file=log_file)
    typer.echo(f"Log lines go to {log_file}", err=True)
    raise typer.Exit(run_replay(settings, path or settings.processed_dir))


@app.command()
def enrich() -> None:
    """Run the enrich service: reprint detection and entity tagging."""
    from services.enrich.main import run as run_enrich
    from services.proc import stop_on_signals

    configure_logging("enrich", get_settings().log_level)
    run_enrich(_pipeline(database=True, announce=False), stop_on_signals())


@app.command()
def store() -> None:
    """Run the store service: persist enriched articles and dead letters, deliver the watches' webhooks."""
    from services.proc import stop_on_signals
    from services.store.main import run as run_store

    configure_logging("store", get_settings().log_level)
    run_store(_pipeline(database=True, announce=False), stop_on_signals())


@app.command()
def api() -> None:
    """Run the read API and the dashboard (NEWSFLOW_API_WORKERS uvicorn workers) on NEWSFLOW_API_PORT."""
    from services.api.main import run as run_api

    configure_logging("api", get_settings().log_level)
    # The database (and data dir) of a running `newsflow run` when the environment names none.
    run_api(_pipeline(broker=False, database=True, announce=False))


@app.command()
def migrate(
    service: Annotated[MigrationTarget, typer.Option(help="Whose schema to migrate.")] = MigrationTarget.all,
    revision: Annotated[str, typer.Option(help="Target revision ('head', a revision id, or '-1').")] = "head",
    downgrade: Annotated[bool, typer.Option("--downgrade", help="Downgrade to REVISION instead.")] = False,
) -> None:
    """Apply (or roll back) the database migrations."""
    from shared.db import MIGRATION_SETS, run_migrations

    configure_logging("migrate", get_settings().log_level)
    url = _pipeline(broker=False, database=True).require_database()
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
