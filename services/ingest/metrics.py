"""The ingest service's Prometheus metrics (``newsflow_ingest_*``); labels are bounded codes only."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from services.ingest.parsing.errors import FILE_REASONS
from shared.metrics import DEAD_LETTERS, init_labels

CONTENT_TYPES = ("text", "html", "json", "jsonl")

FILES_SEEN = Counter("newsflow_ingest_files_seen_total", "Files found ready in the inbox and claimed.")
FILES_PUBLISHED = Counter(
    "newsflow_ingest_files_published_total",
    "Files whose articles were all acknowledged by the broker.",
    ["content_type"],
)
ARTICLES_PUBLISHED = Counter(
    "newsflow_ingest_articles_published_total", "Articles published to news.raw.v1.", ["content_type"]
)
FILES_REJECTED = Counter(
    "newsflow_ingest_files_rejected_total", "Files moved to rejected/ with a reason file, by reason.", ["reason"]
)
RECORDS_REJECTED = Counter(
    "newsflow_ingest_records_rejected_total",
    "Bad records (JSON list items, JSON Lines lines) dead-lettered from otherwise good files, by reason.",
    ["reason"],
)
BYTES_READ = Counter("newsflow_ingest_bytes_total", "Bytes of files read from the inbox (as dropped).")
PUBLISH_LATENCY_SECONDS = Histogram(
    "newsflow_ingest_publish_latency_seconds",
    "From sending a file's articles to the broker's acknowledgement of all of them.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
INBOX_BACKLOG = Gauge("newsflow_ingest_inbox_backlog_files", "Files waiting in the inbox (not yet claimed).")
INBOX_OLDEST_AGE_SECONDS = Gauge(
    "newsflow_ingest_inbox_oldest_file_age_seconds",
    "Age since last change of the oldest file waiting.",
)
CLAIMS_RECOVERED = Counter(
    "newsflow_ingest_claims_recovered_total", "Files taken over from a replica that stopped while holding them."
)
FILES_QUARANTINED = Gauge(
    "newsflow_ingest_quarantined_files",
    "Files set aside in quarantine/ after failing repeatedly; above 0 until a person moves them away.",
)
PUBLISH_RETRIES = Counter(
    "newsflow_ingest_publish_retries_total", "Files left claimed for a later retry because the broker failed."
)


def init_metrics() -> None:
    """Create every labelled series now, so dashboards show 0 rather than "no data"."""
    init_labels(FILES_REJECTED, [(reason,) for reason in FILE_REASONS])
    init_labels(RECORDS_REJECTED, [(reason,) for reason in FILE_REASONS])
    init_labels(FILES_PUBLISHED, [(kind,) for kind in CONTENT_TYPES])
    init_labels(ARTICLES_PUBLISHED, [(kind,) for kind in CONTENT_TYPES])
    # Every rejected file and bad record is also dead-lettered under its reason code.
    init_labels(DEAD_LETTERS, [("ingest", reason) for reason in FILE_REASONS])
