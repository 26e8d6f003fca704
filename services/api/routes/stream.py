"""``GET /stream``: newly stored articles that match, as server-sent events, resumable by ``Last-Event-ID``.

Each event's ``id`` is its feed position; a client that reconnects with the last id it saw (browsers'
EventSource does so by itself) gets every matching event after it, once. Articles are sent as
unnamed events (``onmessage``), their ``data`` the article as ``GET /articles`` lists it;
breaking stories as ``event: story.breaking``. A connection lasts at most
``NEWSFLOW_STREAM_MAX_SECONDS``; the client reconnects and resumes.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, TypeVar

from anyio import sleep, to_thread
from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import ConfigDict, Field
from sqlalchemy import Connection, Engine

from services.api.errors import ParameterError
from services.api.schemas import ErrorMessage
from services.store.watches import stream as feed
from services.store.watches.models import BREAKING
from services.store.watches.schemas import WatchFilters
from shared.config import Settings

T = TypeVar("T")
MAX_POSITION = 2**63 - 1
# How long a browser waits before reconnecting after the connection drops.
RECONNECT_MS = 1000


class StreamQuery(WatchFilters):
    """The filters of a watch, or a watch's id; where to start; what else to send."""

    # Other query parameters (api_key) are the middleware's, not errors.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    watch: int | None = Field(default=None, ge=1, le=MAX_POSITION, description="Stream this watch's matches.")
    breaking: bool = Field(default=False, description="Also send `story.breaking` events (with filters).")
    after: int | None = Field(
        default=None, ge=0, le=MAX_POSITION, description="Start after this event id (as Last-Event-ID does)."
    )
    limit: int | None = Field(default=None, ge=1, le=100_000, description="Close after this many events.")


def _sse(event: feed.StreamEvent) -> str:
    name = f"event: {event.kind}\n" if event.kind == BREAKING else ""
    return f"id: {event.seq}\n{name}data: {event.payload}\n\n"


def make_router(settings: Settings) -> APIRouter:
    router = APIRouter(tags=["watches"])

    @router.get(
        "/stream",
        summary="Newly stored articles that match, as server-sent events",
        response_class=StreamingResponse,
        responses={
            200: {"content": {"text/event-stream": {}}, "description": "An event stream."},
            404: {"model": ErrorMessage, "description": "`watch` names no watch."},
        },
        description=(
            "The filters of GET /articles (`q`, `entity`, `type`, `source`, `story`, `include_duplicates`) or "
            "`watch=ID`. Each article stored from now on that matches is one event, `id` its feed position, "
            "`data` the article as GET /articles lists it. Send `Last-Event-ID` (or `after`) to resume: "
            "nothing is missed and nothing repeats. `story.breaking` events come to watches that ask for "
            "them and with `breaking=true`. Example: `curl -N 'http://127.0.0.1:8000/stream?entity=Imran+Khan'`."
        ),
    )
    async def stream(
        request: Request,
        query: Annotated[StreamQuery, Query()],
        last_event_id: Annotated[
            str | None, Header(max_length=30, description="The last event id seen (sent by EventSource).")
        ] = None,
    ) -> StreamingResponse:
        read = _reader(request.app.state.engine)
        filtered = query.model_fields_set & {"q", "entity", "entity_type", "source", "story", "include_duplicates"}
        if query.watch is not None and filtered:
            raise ParameterError("watch", "streams the watch's own filters: leave out the other filters", query.watch)
        start = _position(last_event_id, query.after)
        if query.watch is not None:
            watch_id = query.watch
            if not await read(lambda conn: feed.watch_exists(conn, watch_id)):
                raise HTTPException(404, f"No watch with id {watch_id}. Watches are listed by GET /watches.")
        if start is None:
            start = await read(feed.feed_head)
        filters = WatchFilters.model_validate(query.model_dump(include=set(WatchFilters.model_fields)))

        def next_page(after: int) -> Callable[[Connection], tuple[list[feed.StreamEvent], int]]:
            if query.watch is not None:
                watch_id = query.watch
                return lambda conn: feed.watch_events(conn, watch_id, after)
            return lambda conn: feed.filtered_events(conn, filters, query.breaking, after)

        async def events(position: int) -> AsyncIterator[str]:
            # The position first: a client that drops before any event resumes from here, not from "now".
            yield f"retry: {RECONNECT_MS}\nid: {position}\n\n"
            sent, opened, quiet_since = 0, time.monotonic(), time.monotonic()
            while time.monotonic() - opened < settings.stream_max_seconds:
                if await request.is_disconnected():
                    return
                page, position = await read(next_page(position))
                for event in page:
                    yield _sse(event)
                    sent += 1
                    if query.limit is not None and sent >= query.limit:
                        return
                if page:
                    quiet_since = time.monotonic()
                    continue
                if time.monotonic() - quiet_since >= settings.stream_keepalive_seconds:
                    yield ": keep-alive\n\n"
                    quiet_since = time.monotonic()
                await sleep(settings.stream_poll_interval_seconds)

        return StreamingResponse(
            events(start),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return router


def _reader(engine: Engine) -> Callable[[Callable[[Connection], T]], Awaitable[T]]:
    """Run a feed query on the reader engine in a worker thread.

    The feed's queries share the (sync) matching code the store runs in its writing transaction.
    """

    async def read(work: Callable[[Connection], T]) -> T:
        def run() -> T:
            with engine.connect() as conn:
                return work(conn)

        return await to_thread.run_sync(run)

    return read


def _position(last_event_id: str | None, after: int | None) -> int | None:
    if last_event_id is None or not last_event_id.strip():
        return after
    try:
        position = int(last_event_id.strip())
    except ValueError:
        position = -1
    if not 0 <= position <= MAX_POSITION:
        raise ParameterError("Last-Event-ID", "must be an event id this stream sent (a whole number)", last_event_id)
    return position
