"""The watches' Prometheus metrics (``newsflow_watch_...``), labelled by watch id (one series per saved search)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from services.store.watches.feed import FeedResult

DELIVERY_OUTCOMES = ("delivered", "retried", "failed")

MATCHES = Counter(
    "newsflow_watch_matches_total",
    "Stored articles (and breaking stories) each watch matched, decided once when the article was stored.",
    ["watch"],
)
DELIVERIES = Counter(
    "newsflow_watch_deliveries_total",
    "Webhook delivery attempts by outcome: delivered (2xx), retried (will try again), failed (given up).",
    ["watch", "outcome"],
)
DELIVERY_SECONDS = Histogram(
    "newsflow_watch_delivery_seconds",
    "From the match (the transaction that stored the article) to the receiver's 2xx answer, per watch.",
    ["watch"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
)
BREAKING = Counter("newsflow_watch_breaking_stories_total", "Stories that fired story.breaking.")
ALERTS_PUBLISHED = Counter(
    "newsflow_watch_alerts_published_total", "story.breaking events published to news.alerts.v1."
)


def count_feed(result: FeedResult) -> None:
    """Count a committed batch's matches and breaking stories."""
    for watch_id, count in result.matches.items():
        MATCHES.labels(str(watch_id)).inc(count)
    BREAKING.inc(len(result.breaking))
