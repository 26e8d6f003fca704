"""Turning every failure into an honest HTTP answer: 422 naming the parameter, 404, 503; never a 500.

422 bodies keep FastAPI's shape (``detail``: a list of ``{loc, msg, type}``) so clients and the
OpenAPI schema agree, with each ``msg`` rewritten to say what was given and what is allowed, and a
top-level ``message`` joining them for people reading the response.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc

from services.store.db.listing.sorts import SORTS
from services.store.db.transient import is_transient

log = logging.getLogger(__name__)

# What each parameter accepts, in words; used in every 422 about it.
ALLOWED: dict[str, str] = {
    "q": 'web-search syntax: words, "quoted phrases", OR, -excluded (1-500 characters)',
    "entity": "an entity id, name or surface form (1-300 characters); repeat for AND, at most 10",
    "type": "one of PERSON, ORG, LOCATION, EVENT, PRODUCT, WORK_OF_ART, LAW (any case)",
    "source": "an agency or outlet name (1-200 characters); repeat for OR, at most 10",
    "story": "a story id (1-200 characters)",
    "since": "a date as YYYY-MM-DD (inclusive, on the publication date)",
    "until": "a date as YYYY-MM-DD (inclusive, on the publication date)",
    "include_duplicates": "true or false",
    "format": "one of text, html, json, jsonl (the format the file was read as); repeat for OR",
    "sort": "one of " + ", ".join(f"{sort} (with q)" if spec.needs_q else sort for sort, spec in SORTS.items()),
    "limit": "an integer from 1 to 100",
    "cursor": "the next_cursor value of a previous response with the same sort",
    "facet": "one of entity, type, source, story, day, hour; repeat for several",
    "interval": "one of hour, day, week",
    "by": "one of entity, source",
    "article_id": "an article id as listed by GET /articles",
    "entity_key": "an entity id, name or surface form as listed by GET /entities",
    "story_id": "a story id as listed by GET /stories",
    "min_count": "an integer from 1 to 1000000",
}
# A parameter one route reads differently from the rest: (the route's path, the parameter) -> allowed.
ALLOWED_ON_ROUTE: dict[tuple[str, str], str] = {
    ("/entities", "sort"): "one of -article_count, name",
    ("/entities/{entity_key}/related", "sort"): "one of lift, npmi, count",
}
_MAX_SHOWN_INPUT_CHARS = 60
RETRY_AFTER_SECONDS = 5


class ParameterError(Exception):
    """A request parameter that passed type checks but cannot be used (checked in our own code)."""

    def __init__(self, parameter: str, problem: str, value: Any = None) -> None:
        super().__init__(f"{parameter}: {problem}")
        self.parameter = parameter
        self.problem = problem
        self.value = value


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN_INPUT_CHARS else text[:_MAX_SHOWN_INPUT_CHARS] + "…'"


def describe(parameter: str, problem: str, value: Any = None, *, given: bool = True, route: str | None = None) -> str:
    got = f" (got {_shown(value)})" if given and value is not None else ""
    allowed = ALLOWED_ON_ROUTE.get((route, parameter)) if route is not None else None
    allowed = allowed or ALLOWED.get(parameter)
    return f"Invalid {parameter}{got}: {problem}." + (f" Allowed: {allowed}." if allowed else "")


def _validation_response(items: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse(
        status_code=422,
        content={"detail": items, "message": " ".join(item["msg"] for item in items)},
    )


def _route_path(request: Request) -> str | None:
    """The path template of the route that answered (``/entities/{entity_key}/related``), if any."""
    path = getattr(request.scope.get("route"), "path", None)
    return path if isinstance(path, str) else None


async def _on_request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    route = _route_path(request)
    items = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        parameter = loc[1] if len(loc) > 1 else (loc[0] if loc else "request")
        problem = str(error.get("msg", "invalid value")).removeprefix("Value error, ").rstrip(".")
        given = error.get("type") != "missing"
        items.append(
            {
                "loc": loc,
                "msg": describe(parameter, problem, error.get("input"), given=given, route=route),
                "type": error["type"],
            }
        )
    return _validation_response(items)


async def _on_parameter_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ParameterError)
    msg = describe(exc.parameter, exc.problem, exc.value, route=_route_path(request))
    return _validation_response([{"loc": ["query", exc.parameter], "msg": msg, "type": "value_error"}])


async def _on_database_error(request: Request, exc: Exception) -> JSONResponse:
    """A SQLAlchemy error (the sync routes) or a psycopg one (the routes on the async pool)."""
    driver_error = exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc
    if isinstance(exc, sa_exc.DataError) or isinstance(driver_error, psycopg.DataError):
        # Input the database refused that our validation let through: the client's to fix, but log it
        # so the validation can be tightened.
        log.warning("database refused a request's value", extra={"path": request.url.path, "error": str(exc)})
        return _validation_response(
            [
                {
                    "loc": ["query"],
                    "msg": "A parameter's value cannot be used in a query; check the values against /docs.",
                    "type": "value_error",
                }
            ]
        )
    if isinstance(exc, sa_exc.SQLAlchemyError):
        transient = is_transient(exc)
    else:
        # psycopg_pool's PoolTimeout (no free connection in time) is an OperationalError too.
        transient = isinstance(exc, psycopg.OperationalError)
    log.error(
        "database error in the read API",
        extra={"path": request.url.path, "error": str(exc).splitlines()[0] if str(exc) else "", "transient": transient},
        exc_info=not transient,
    )
    return JSONResponse(
        status_code=503,
        content={"detail": "The archive's database is unavailable or too slow right now; retry shortly."},
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _on_unencodable_text(request: Request, exc: Exception) -> JSONResponse:
    """Text that is not valid Unicode (a lone surrogate) reached the database driver: the input's fault.

    Every parameter is checked before it gets there; this is the net under those checks, so such
    input is a 422, never a 500.
    """
    log.warning("a request's text is not valid Unicode", extra={"path": request.url.path, "error": str(exc)})
    return _validation_response(
        [
            {
                "loc": ["query"],
                "msg": "A parameter holds text that is not valid Unicode (a lone UTF-16 surrogate); send UTF-8 text.",
                "type": "value_error",
            }
        ]
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_request_validation)  # type: ignore[arg-type]
    app.add_exception_handler(ParameterError, _on_parameter_error)
    app.add_exception_handler(sa_exc.SQLAlchemyError, _on_database_error)
    # psycopg's own errors come from the routes on the async pool (services.store.db.reader).
    app.add_exception_handler(psycopg.Error, _on_database_error)
    app.add_exception_handler(UnicodeEncodeError, _on_unencodable_text)
