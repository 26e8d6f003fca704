"""The read routes resolve their dependencies on the event loop, with no hop to the thread pool.

FastAPI runs a plain ``def`` dependency in its thread pool. For a read route that hand-off, made
twice per request, cost ~0.4 ms of the API's CPU: a deep cursor page went from 1.05 to 1.47 ms
(bench/api_ab.py, 2026-12-07), and the redesigned API fell to 0.82x of the old one's requests/s.
A dependency that blocks on I/O is the exception and is listed here with its reason.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

import services.api.routes

# The watches' writes: a sync SQLAlchemy transaction, which must stay off the event loop.
_BLOCKING_ON_PURPOSE = frozenset({"_connection"})


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def _runs_on_the_loop(call: Callable[..., Any]) -> bool:
    target = call if inspect.isfunction(call) else getattr(call, "__call__", call)  # noqa: B004
    return inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)


def _routes() -> Iterator[APIRoute]:
    """Every route of every module in ``services.api.routes`` (each module's ``router``)."""
    for module in pkgutil.iter_modules(services.api.routes.__path__):
        router = getattr(importlib.import_module(f"services.api.routes.{module.name}"), "router", None)
        if isinstance(router, APIRouter):
            yield from (route for route in router.routes if isinstance(route, APIRoute))


def test_no_read_route_resolves_a_dependency_in_the_thread_pool() -> None:
    checked = 0
    offenders = []
    for route in _routes():
        if not isinstance(route, APIRoute) or "GET" not in route.methods:
            continue
        for call in _calls(route.dependant):
            checked += 1
            if call.__name__ not in _BLOCKING_ON_PURPOSE and not _runs_on_the_loop(call):
                offenders.append(f"{route.path}: {call.__name__}")
    assert checked >= 3, "the listing's dependencies (read pool, listing, query) were not found"
    assert not offenders, "make these `async def` (they do no blocking I/O):\n" + "\n".join(offenders)
