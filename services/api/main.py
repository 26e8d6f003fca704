"""``newsflow api``: the read API and the dashboard under uvicorn, a process of their own.

The API holds no consumer (the store's process runs them), so it can be scaled apart from the
writer: more uvicorn workers (``NEWSFLOW_API_WORKERS``), or more API containers. One worker serves
the app built here. Several are uvicorn's worker processes, each building its app from the
environment through ``APP_FACTORY`` (an import string: a worker cannot be handed an app object);
the settings this command completed from a running ``newsflow run`` (its database, its data dir)
go to them through the environment, and their metrics are gathered in one folder
(``PROMETHEUS_MULTIPROC_DIR``) so ``/metrics`` counts every worker's requests.
"""

from __future__ import annotations

import logging
import os
import shutil

import uvicorn
from fastapi import FastAPI

from services.api.access import api_access
from services.api.app import create_app
from shared.config import Settings, get_settings
from shared.logs import configure_logging

log = logging.getLogger(__name__)

APP_FACTORY = "services.api.main:app_from_environment"
MULTIPROCESS_METRICS_DIR = "api-metrics"


def run(settings: Settings) -> None:
    """Serve the API on ``api_host:api_port`` until SIGINT or SIGTERM (uvicorn's own handling)."""
    line, open_to_network = api_access(settings)
    (log.warning if open_to_network else log.info)(line)
    log.info(
        "api starting",
        extra={"api": f"http://{settings.api_host}:{settings.api_port}", "workers": settings.api_workers},
    )
    if settings.api_workers == 1:
        app: FastAPI | str = create_app(settings)
    else:
        _hand_to_workers(settings)
        app = APP_FACTORY
    uvicorn.run(
        app,
        factory=settings.api_workers > 1,
        workers=settings.api_workers,
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,  # our JSON log lines (shared.logs), not uvicorn's own format
        access_log=False,  # requests are counted in /metrics; a line each would flood the log
    )


def app_from_environment() -> FastAPI:
    """The app of one uvicorn worker process, from the environment ``run`` prepared."""
    settings = get_settings()
    configure_logging("api", settings.log_level)
    return create_app(settings)


def _hand_to_workers(settings: Settings) -> None:
    """Put what the workers' settings need into the environment they inherit."""
    found = {
        "DATABASE_URL": settings.database_url,
        "NEWSFLOW_DATA_DIR": str(settings.data_dir.absolute()),
        "NEWSFLOW_INBOX": str(settings.inbox.absolute()),
    }
    os.environ.update({name: value for name, value in found.items() if value})
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Emptied at each start: the files of workers gone are counts of a previous run.
        folder = settings.data_dir.absolute() / MULTIPROCESS_METRICS_DIR
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
