"""Entry points the CLI calls: ``run`` (the long-running service) and ``run_once`` (a backfill)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from services.ingest.once import run_once as _run_once
from services.ingest.service import IngestService
from shared.config import Settings
from shared.kafka import ensure_topics
from shared.metrics import serve_metrics

log = logging.getLogger(__name__)


def run(settings: Settings, stop: threading.Event) -> None:
    """Serve metrics, backfill the inbox (oldest first), then follow it until ``stop`` is set."""
    ensure_topics(settings)
    serve_metrics(settings.metrics_host, settings.ingest_metrics_port)
    service = IngestService(settings, stop)
    try:
        service.run()
    finally:
        service.close()
        log.info("ingest stopped", extra={"replica": service.replica_id})


def run_once(settings: Settings, path: Path) -> int:
    """Ingest a folder or a file once, with a progress bar and a summary; 1 if any was rejected."""
    return _run_once(settings, path)
