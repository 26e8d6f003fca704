"""``/watches``: saved searches (the filters of ``GET /articles``) with an optional signed webhook.

The one part of the API that writes: it uses the store's writer engine (``DATABASE_URL``), not
the read-only one, and only ever touches the watch tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy import Connection, Engine

from services.api.responses import model_response
from services.api.schemas import ErrorMessage
from services.store.db.session import make_writer_engine
from services.store.watches import registry
from services.store.watches.hosts import allowed_host, refusal
from services.store.watches.schemas import WatchIn, WatchOut, WatchPage
from shared.config import Settings

# Postgres bigint: a larger id cannot name a watch (and must be a 404 or 422, never a 500).
MAX_WATCH_ID = 2**63 - 1
WatchId = Annotated[int, Path(ge=1, le=MAX_WATCH_ID, description="A watch id from GET /watches.")]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorMessage, "description": "No watch has this id."}}
_NOT_JSON: dict[int | str, dict[str, Any]] = {400: {"model": ErrorMessage, "description": "The body is not JSON."}}


class WatchWriter:
    """The writer engine for watches, created on first use (a read-only API never needs it)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._engine: Engine | None = None

    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_writer_engine(self._settings)
        return self._engine

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def _connection(request: Request) -> Iterator[Connection]:
    writer: WatchWriter = request.app.state.watch_writer
    with writer.engine().begin() as conn:
        yield conn


WriteConnection = Annotated[Connection, Depends(_connection)]


def _not_found(watch_id: int) -> HTTPException:
    return HTTPException(404, f"No watch with id {watch_id}. Watches are listed by GET /watches.")


def make_router(settings: Settings) -> APIRouter:
    router = APIRouter(tags=["watches"])

    def check_host(watch: WatchIn) -> None:
        if watch.webhook_url is not None and not allowed_host(watch.webhook_url, settings.webhook_allowed_hosts):
            raise RequestValidationError(
                [
                    {
                        "loc": ("body", "webhook_url"),
                        "msg": refusal(watch.webhook_url, settings.webhook_allowed_hosts),
                        "type": "value_error",
                        "input": watch.webhook_url,
                    }
                ]
            )

    @router.post(
        "/watches",
        status_code=201,
        response_model=WatchOut,
        responses=_NOT_JSON,
        summary="Save a search",
        description=(
            "A name and the filters of GET /articles (`q`, `entity`, `type`, `source`, `story`, "
            "`include_duplicates`). Every article stored from now on that matches is sent to GET "
            "/stream?watch=ID and, with `webhook_url`, POSTed there signed with the watch's `secret`. "
            "`breaking: true` adds `story.breaking` events."
        ),
    )
    def create(conn: WriteConnection, watch: WatchIn) -> Response:
        check_host(watch)
        return model_response(registry.create_watch(conn, watch), status_code=201)

    @router.get("/watches", response_model=WatchPage, summary="List watches")
    def list_all(conn: WriteConnection) -> Response:
        return model_response(WatchPage(items=registry.list_watches(conn)))

    @router.get("/watches/{watch_id}", response_model=WatchOut, summary="One watch", responses=_NOT_FOUND)
    def get_one(conn: WriteConnection, watch_id: WatchId) -> Response:
        found = registry.get_watch(conn, watch_id)
        if found is None:
            raise _not_found(watch_id)
        return model_response(found)

    @router.put(
        "/watches/{watch_id}",
        response_model=WatchOut,
        summary="Change a watch",
        description="Replaces the watch's name, filters and webhook; past matches and deliveries stay.",
        responses={**_NOT_FOUND, **_NOT_JSON},
    )
    def replace(conn: WriteConnection, watch_id: WatchId, watch: WatchIn) -> Response:
        check_host(watch)
        changed = registry.replace_watch(conn, watch_id, watch)
        if changed is None:
            raise _not_found(watch_id)
        return model_response(changed)

    @router.delete("/watches/{watch_id}", status_code=204, summary="Delete a watch", responses=_NOT_FOUND)
    def delete(conn: WriteConnection, watch_id: WatchId) -> Response:
        if not registry.delete_watch(conn, watch_id):
            raise _not_found(watch_id)
        return Response(status_code=204)

    return router
