"""Watches against a running pipeline (issue 26), shared by the fault test and ``bench/watches.py``.

Saved searches with webhooks to a loopback receiver, an SSE client that drops its connection every
few events and resumes with ``Last-Event-ID``, files dropped, optionally the store (the process that
matches and delivers) killed with SIGKILL mid-run; then the checks: every match delivered, none
counted twice by a receiver that dedupes by delivery id, every stored article streamed once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg

from bench.harness.live import Receiver, webhook_receiver
from bench.harness.pipeline import ArticleFile, Pipeline, drop, stored_count, wait_until
from services.store.watches.signing import SIGNATURE_HEADER, verify

# Filters for generated watches, cycled; every other round adds include_duplicates.
WATCH_FILTERS: tuple[dict[str, Any], ...] = (
    {},
    {"type": "PERSON"},
    {"type": "ORG"},
    {"type": "LOCATION"},
    {"entity": ["Imran Khan"]},
    {"entity": ["Donald Trump"]},
    {"q": "release"},
    {"q": "government"},
    {"q": "market"},
    {"q": "election OR vote"},
    {"q": '"prime minister"'},
    {"q": "company -bank"},
    {"q": "film"},
    {"q": "music"},
    {"q": "growth"},
    {"q": "Trump", "type": "PERSON"},
)
HTTP_TIMEOUT_SECONDS = 10.0


def watch_bodies(count: int, hook: str) -> list[dict[str, Any]]:
    bodies = []
    for i in range(count):
        filters = WATCH_FILTERS[i % len(WATCH_FILTERS)]
        duplicates = (i // len(WATCH_FILTERS)) % 2 == 1
        bodies.append({"name": f"w{i}", **filters, "include_duplicates": duplicates, "webhook_url": hook})
    return bodies


@dataclass
class StreamFollower:
    """An SSE client of ``/stream`` that drops the connection every ``drop_every`` events and resumes
    with the last id it saw; it also rides out the API going away (the store killed) by retrying."""

    url: str
    params: dict[str, Any]
    drop_every: int
    article_ids: list[str] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    connections: int = 0
    failed_connections: int = 0
    last_id: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.is_set():
            headers = {"Last-Event-ID": self.last_id} if self.last_id is not None else {}
            try:
                with httpx.stream(
                    "GET", self.url, params=self.params, headers=headers, timeout=httpx.Timeout(10, read=30)
                ) as response:
                    if response.status_code != 200:
                        raise httpx.HTTPError(f"status {response.status_code}")
                    self.connections += 1
                    self._read(response)
            except httpx.HTTPError:
                self.failed_connections += 1
                self.stop.wait(0.5)

    def _read(self, response: httpx.Response) -> None:
        fields: dict[str, str] = {}
        data: list[str] = []
        received = 0
        for line in response.iter_lines():
            if self.stop.is_set():
                return
            if line:
                if not line.startswith(":"):
                    name, _, value = line.partition(":")
                    if name == "data":
                        data.append(value.removeprefix(" "))
                    else:
                        fields[name] = value.removeprefix(" ")
                continue
            if "id" in fields:
                self.last_id = fields["id"]
            if data and fields.get("event", "message") == "message":
                self.article_ids.append(json.loads("\n".join(data))["id"])
                self.seqs.append(int(fields["id"]))
                received += 1
                if received >= self.drop_every:
                    return  # drop the connection; the next one resumes from last_id
            fields, data = {}, []


@contextmanager
def following(api: str, params: dict[str, Any], drop_every: int) -> Iterator[StreamFollower]:
    follower = StreamFollower(f"{api}/stream", params, drop_every)
    thread = threading.Thread(target=follower.run, daemon=True)
    thread.start()
    try:
        yield follower
    finally:
        follower.stop.set()
        thread.join(timeout=40)


@dataclass
class WatchRunReport:
    files: int
    stored: int
    watches: int
    matches: int
    delivered_unique: int
    redelivered: int
    bad_signatures: int
    streamed: int
    stream_connections: int
    store_killed: bool
    seconds_to_stored: float
    seconds_to_delivered: float


def outbox(database_url: str) -> set[str]:
    """The delivery ids of every match the database holds."""
    with psycopg.connect(database_url, connect_timeout=5) as conn:
        rows = conn.execute("SELECT watch_id, seq FROM watch_matches").fetchall()
    return {f"{w}-{s}" for w, s in rows}


def pending(database_url: str) -> int:
    # A count, not the rows: the receiver runs in this process and must not wait for the GIL.
    with psycopg.connect(database_url, connect_timeout=5) as conn:
        row = conn.execute("SELECT count(*) FROM watch_matches WHERE delivery_state = 'pending'").fetchone()
    return int(row[0]) if row else 0


def feed_articles(database_url: str) -> list[tuple[int, str]]:
    with psycopg.connect(database_url, connect_timeout=5) as conn:
        rows = conn.execute("SELECT seq, article_id FROM watch_feed WHERE kind = 'article' ORDER BY seq").fetchall()
    return [(int(seq), str(article_id)) for seq, article_id in rows]


def run_watches(
    pipeline: Pipeline,
    database_url: str,
    files: Sequence[ArticleFile],
    *,
    watch_count: int,
    kill_store: bool,
    drop_every: int,
    timeout_seconds: float,
) -> tuple[WatchRunReport, Receiver]:
    """Create the watches, follow the stream, drop ``files`` (killing the store once a third is stored)."""
    with webhook_receiver() as receiver:
        secrets = {}
        for body in watch_bodies(watch_count, receiver.url):
            response = httpx.post(f"{pipeline.api}/watches", json=body, timeout=HTTP_TIMEOUT_SECONDS)
            response.raise_for_status()
            secrets[response.json()["id"]] = response.json()["secret"]
        with following(pipeline.api, {"include_duplicates": True, "after": 0}, drop_every) as follower:
            started = time.monotonic()
            names = drop(pipeline.inbox, files)
            if kill_store:
                wait_until(lambda: stored_count(database_url) >= len(names) // 3, "a third of the files stored")
                wait_until(lambda: len(receiver.by_id) > 0, "the first deliveries")
                old = pipeline.kill("store")
                pipeline.wait_restarted("store", old)
            wait_until(
                lambda: _accounted(database_url) >= len(names),
                "every file to be stored",
                timeout_seconds,
            )
            stored_at = time.monotonic()
            wait_until(lambda: pending(database_url) == 0, "every delivery to be made", timeout_seconds)
            delivered_at = time.monotonic()
            feed = feed_articles(database_url)
            wait_until(lambda: len(follower.seqs) >= len(feed), "the stream to catch up", timeout_seconds)
            time.sleep(1)  # anything more would be a double
    expected = outbox(database_url)
    assert set(receiver.by_id) == expected, (
        f"missing {sorted(expected - set(receiver.by_id))[:5]}, unexpected {sorted(set(receiver.by_id) - expected)[:5]}"
    )
    bad_signatures = sum(
        1
        for headers, body in receiver.requests
        if not verify(secrets[json.loads(body)["watch_id"]], body, headers[SIGNATURE_HEADER])
    )
    assert follower.seqs == [seq for seq, _ in feed], "the stream missed or repeated an event"
    assert follower.article_ids == [article_id for _, article_id in feed]
    report = WatchRunReport(
        files=len(files),
        stored=stored_count(database_url),
        watches=watch_count,
        matches=len(expected),
        delivered_unique=len(receiver.by_id),
        redelivered=receiver.duplicates,
        bad_signatures=bad_signatures,
        streamed=len(follower.seqs),
        stream_connections=follower.connections,
        store_killed=kill_store,
        seconds_to_stored=stored_at - started,
        seconds_to_delivered=delivered_at - started,
    )
    return report, receiver


def _accounted(database_url: str) -> int:
    """Files stored as an article or dead-lettered (rejected): every dropped file ends as one or the other."""
    with psycopg.connect(database_url, connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT (SELECT count(DISTINCT source_file) FROM articles)"
            " + (SELECT count(DISTINCT source_file) FROM dead_letters WHERE source_file IS NOT NULL)"
        ).fetchone()
    return int(row[0]) if row else 0
