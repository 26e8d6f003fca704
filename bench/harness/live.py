"""Watch features over real HTTP, for the tests and benches: the API under uvicorn in a thread, an SSE reader,
and a webhook receiver that records (and dedupes) deliveries."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import uvicorn

from services.api.app import create_app
from services.embedded import free_port
from shared.config import Settings


@contextmanager
def serve_api(settings: Settings) -> Iterator[str]:
    """The read API on a free loopback port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class SseEvent:
    id: str | None
    event: str
    data: str


def read_events(
    url: str, *, count: int, timeout_seconds: float, last_event_id: str | None = None, **params: Any
) -> tuple[list[SseEvent], str | None]:
    """Read ``count`` events (or until the timeout) from an SSE endpoint; return them and the last id seen.

    The connection is then dropped, as a client that goes away does.
    """
    headers = {"Last-Event-ID": last_event_id} if last_event_id is not None else {}
    events: list[SseEvent] = []
    last_id = [last_event_id]
    # A quiet stream times out: what came is the answer.
    with contextlib.suppress(httpx.ReadTimeout):
        _read(url, params, headers, count, timeout_seconds, events, last_id)
    return events, last_id[0]


def _read(
    url: str,
    params: dict[str, Any],
    headers: dict[str, str],
    count: int,
    timeout_seconds: float,
    events: list[SseEvent],
    last_id: list[str | None],
) -> None:
    deadline = time.monotonic() + timeout_seconds
    with httpx.stream("GET", url, params=params, headers=headers, timeout=timeout_seconds) as response:
        response.raise_for_status()
        fields: dict[str, str] = {}
        data: list[str] = []
        for line in response.iter_lines():
            if line == "":
                if "id" in fields:
                    last_id[0] = fields["id"]
                if data:
                    events.append(SseEvent(fields.get("id"), fields.get("event", "message"), "\n".join(data)))
                    if len(events) >= count:
                        break
                fields, data = {}, []
            elif not line.startswith(":"):
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "data":
                    data.append(value)
                else:
                    fields[name] = value
            if time.monotonic() > deadline:
                break


@dataclass
class Receiver:
    """What a webhook receiver got: every request, and the deliveries by id (duplicates counted apart)."""

    url: str
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    # When each delivery id first arrived (time.time(), to compare with the database's clock).
    arrived: dict[str, float] = field(default_factory=dict)
    duplicates: int = 0
    # Status codes to answer with, one per request, before answering 204.
    failures: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Server(ThreadingHTTPServer):
    # http.server's listen backlog is 5: eight parallel POSTs overflowed it, and a connection whose
    # SYN was dropped is retried a second later (the deliverer measured the receiver, not itself).
    request_queue_size = 128
    daemon_threads = True


@contextmanager
def webhook_receiver(port: int | None = None) -> Iterator[Receiver]:
    """A loopback HTTP server that records each POST; answers ``failures`` first, then 204."""
    port = port or free_port()
    receiver = Receiver(f"http://127.0.0.1:{port}/hook")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                receiver.requests.append((dict(self.headers), body))
                status = receiver.failures.pop(0) if receiver.failures else 204
                if status < 300:
                    delivery = json.loads(body)
                    if delivery["delivery_id"] in receiver.by_id:
                        receiver.duplicates += 1
                    else:
                        receiver.arrived[delivery["delivery_id"]] = time.time()
                    receiver.by_id[delivery["delivery_id"]] = delivery
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = _Server(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
