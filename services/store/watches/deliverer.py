"""The outbox's deliverer: POSTs due matches to their watch's webhook, retries with backoff, gives up after
a limit; publishes ``story.breaking`` events to ``news.alerts.v1``.

At least once, never lost: a match is pending in Postgres (``watch_matches``) from the commit that
stored its article until a receiver answered 2xx, so a restart (even ``kill -9`` mid-POST) resumes
where the outbox says. A POST that reached the receiver but whose answer was lost is sent again
with the same delivery id (``X-Newsflow-Delivery`` and ``delivery_id`` in the body): receivers
dedupe by it. Redirects are not followed and no proxy is used: the URL's host, checked against the
allow-list before each POST, is the host reached.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from kafka import KafkaProducer
from sqlalchemy import Engine, text
from sqlalchemy import exc as sa_exc

from services.store.watches.hosts import allowed_host, refusal
from services.store.watches.metrics import ALERTS_PUBLISHED, DELIVERIES, DELIVERY_SECONDS
from services.store.watches.models import DELIVERED, FAILED
from services.store.watches.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign
from shared.config import Settings
from shared.events import TOPIC_ALERTS, utcnow

log = logging.getLogger(__name__)

# Due deliveries taken per round, and how many POSTs run at once (receivers are often slow, rarely busy).
BATCH_DELIVERIES = 64
PARALLEL_POSTS = 8
ALERT_ACK_TIMEOUT_SECONDS = 30.0
_ERROR_MAX_CHARS = 300

_DUE_SQL = """
SELECT m.watch_id, m.seq, m.attempts, m.matched_at, w.webhook_url, w.secret, f.kind, f.payload
FROM watch_matches m JOIN watches w ON w.id = m.watch_id JOIN watch_feed f ON f.seq = m.seq
WHERE m.delivery_state = 'pending' AND m.next_attempt_at <= now()
ORDER BY m.next_attempt_at, m.seq
LIMIT :limit
"""
_DONE_SQL = """
UPDATE watch_matches SET delivery_state = :state, attempts = attempts + 1, delivered_at = :delivered_at,
       last_error = :error, last_attempt_at = :now,
       next_attempt_at = CASE WHEN :state = 'pending' THEN :next_at ELSE next_attempt_at END
WHERE watch_id = :watch_id AND seq = :seq AND delivery_state = 'pending'
"""


@dataclass(frozen=True)
class Due:
    watch_id: int
    seq: int
    attempts: int
    matched_at: datetime
    url: str | None
    secret: str
    kind: str
    payload: str

    @property
    def delivery_id(self) -> str:
        return f"{self.watch_id}-{self.seq}"

    def body(self) -> bytes:
        # The payload is JSON already (the feed row): spliced in, not parsed and dumped again.
        return (
            f'{{"delivery_id":"{self.delivery_id}","watch_id":{self.watch_id},"event":"{self.kind}",'
            f'"seq":{self.seq},"data":{self.payload}}}'
        ).encode()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a 3xx is an answer (a failed delivery), not a new host to reach


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects)


class Deliverer:
    """Runs until ``stop``: each round publishes pending alerts, then delivers the due webhooks."""

    def __init__(self, settings: Settings, engine: Engine, producer: KafkaProducer | None, stop: threading.Event):
        self._settings = settings
        self._engine = engine
        self._producer = producer
        self._stop = stop
        self._pool = ThreadPoolExecutor(PARALLEL_POSTS, thread_name_prefix="webhook")

    def run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    busy = self.step()
                except sa_exc.OperationalError as exc:  # the database is away: the outbox waits for it
                    log.warning("webhook outbox unavailable", extra={"error": str(exc.orig or exc).splitlines()[0]})
                    busy = 0
                if not busy:
                    self._stop.wait(self._settings.webhook_poll_interval_seconds)
        finally:
            self._pool.shutdown(wait=True)

    def step(self) -> int:
        """One round; returns how many things it did (0: nothing was due)."""
        published = self.publish_alerts() if self._producer is not None else 0
        with self._engine.connect() as conn:
            rows = conn.execute(text(_DUE_SQL), {"limit": BATCH_DELIVERIES}).all()
        due = [Due(*row) for row in rows]
        # Recorded after each group of parallel POSTs, not after the whole batch: a crash then
        # leaves at most one group delivered but still pending (sent again, deduped by the receiver).
        for start in range(0, len(due), PARALLEL_POSTS):
            group = due[start : start + PARALLEL_POSTS]
            self._record(group, list(self._pool.map(self._post, group)))
        return published + len(due)

    def publish_alerts(self) -> int:
        assert self._producer is not None
        with self._engine.connect() as conn:
            alerts = conn.execute(
                text(
                    "SELECT seq, story_id, payload FROM watch_feed "
                    "WHERE kind = 'story.breaking' AND published_at IS NULL ORDER BY seq"
                )
            ).all()
        for seq, story_id, payload in alerts:
            self._producer.send(TOPIC_ALERTS, key=story_id.encode(), value=payload.encode()).get(
                timeout=ALERT_ACK_TIMEOUT_SECONDS
            )
            with self._engine.begin() as conn:
                conn.execute(text("UPDATE watch_feed SET published_at = now() WHERE seq = :seq"), {"seq": seq})
            ALERTS_PUBLISHED.inc()
            log.info("story.breaking published", extra={"story_id": story_id, "topic": TOPIC_ALERTS})
        return len(alerts)

    def _post(self, due: Due) -> str | None:
        """None when the receiver answered 2xx, else why not."""
        if due.url is None:
            return "the watch no longer has a webhook_url"
        if not allowed_host(due.url, self._settings.webhook_allowed_hosts):
            return refusal(due.url, self._settings.webhook_allowed_hosts)
        body = due.body()
        request = urllib.request.Request(
            due.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "newsflow-webhooks/1",
                DELIVERY_HEADER: due.delivery_id,
                EVENT_HEADER: due.kind,
                SIGNATURE_HEADER: sign(due.secret, body),
            },
        )
        try:
            with _OPENER.open(request, timeout=self._settings.webhook_timeout_seconds) as response:
                response.read()
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (OSError, ValueError) as exc:  # refused, reset, timed out, unresolvable
            return f"{type(exc).__name__}: {exc}"[:_ERROR_MAX_CHARS]
        return None if 200 <= status < 300 else f"HTTP {status}"

    def _record(self, due: Sequence[Due], outcomes: Sequence[str | None]) -> None:
        if not due:
            return
        now = utcnow()
        updates = []
        for item, error in zip(due, outcomes, strict=True):
            watch = str(item.watch_id)
            if error is None:
                state, outcome = DELIVERED, "delivered"
                DELIVERY_SECONDS.labels(watch).observe(max(0.0, (now - item.matched_at).total_seconds()))
            elif item.attempts + 1 >= self._settings.webhook_max_attempts or item.url is None:
                state, outcome = FAILED, "failed"
            else:
                state, outcome = "pending", "retried"
            DELIVERIES.labels(watch, outcome).inc()
            if error is not None:
                log.warning(
                    "webhook delivery failed",
                    extra={
                        "watch_id": item.watch_id,
                        "delivery_id": item.delivery_id,
                        "error": error,
                        "outcome": outcome,
                    },
                )
            updates.append(
                {
                    "watch_id": item.watch_id,
                    "seq": item.seq,
                    "state": state,
                    "delivered_at": now if error is None else None,
                    "now": now,
                    "error": error,
                    "next_at": now + timedelta(seconds=self.backoff_seconds(item.attempts + 1)),
                }
            )
        with self._engine.begin() as conn:
            # Not waiting for the WAL flush (a few ms, or hundreds on a busy disk, per group): a
            # "delivered" mark lost in a database crash only means the delivery is sent again, under
            # the same delivery id, which receivers dedupe. A pending match is never written here.
            conn.execute(text("SET LOCAL synchronous_commit = off"))
            conn.execute(text(_DONE_SQL), updates)

    def backoff_seconds(self, attempts: int) -> float:
        """The wait after the ``attempts``-th failed try: doubling from the initial wait, capped."""
        initial = self._settings.webhook_backoff_initial_seconds
        return min(self._settings.webhook_backoff_max_seconds, initial * 2 ** (attempts - 1))


def wait_idle(deliverer: Deliverer, timeout_seconds: float) -> None:
    """Run rounds until nothing is due (tests and benches drive a deliverer by hand)."""
    deadline = time.monotonic() + timeout_seconds
    while deliverer.step() and time.monotonic() < deadline:
        pass
