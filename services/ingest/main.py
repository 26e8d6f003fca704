"""The entry point the CLI calls for the long-running ingest service (``--once`` is ``services.ingest.once``)."""

from __future__ import annotations

import logging
import threading

from services.ingest.claim_watch import ClaimWatch
from services.ingest.handover import start_applying
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
    ClaimWatch(service.claims.root, settings.stuck_claim_seconds).export()
    # What `ingest --once` and `replay` published counts in this service's figures too.
    start_applying(settings.data_dir, stop)
    try:
        service.run()
    finally:
        service.close()
        log.info("ingest stopped", extra={"replica": service.replica_id})
