"""A database probe for ``/health`` that answers within a deadline even when the server is stalled.

A stalled server (stopped process, frozen VM, hung disk) accepts connections and then never
replies; the server-side ``statement_timeout`` cannot fire, and a plain query would hang the
health request with it. The probe runs in a daemon thread, and at most one runs at a time: a
probe stuck on a stalled server holds one pooled connection, not one per health request, and
finishes by itself when the server is back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc

from services.api.schemas import ComponentHealth
from services.store.db.queries.stats import database_answers

# Longer than any healthy answer (milliseconds), shorter than the usual health-check timeouts (5 s).
PROBE_TIMEOUT_SECONDS = 3.0

_create_lock = threading.Lock()


def database_health(engine: Engine) -> ComponentHealth:
    """Ask the database once, however long that takes."""
    try:
        with engine.connect() as conn:
            database_answers(conn)
    except sa_exc.SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return ComponentHealth(state="down", detail=detail[0] if detail else type(exc).__name__)
    return ComponentHealth(state="ok")


@dataclass
class _Attempt:
    done: threading.Event = field(default_factory=threading.Event)
    result: ComponentHealth | None = None


class DatabaseProbe:
    """``check()`` returns the database's health within ``timeout_seconds``, or ``down`` with why."""

    def __init__(
        self,
        engine: Engine,
        timeout_seconds: float = PROBE_TIMEOUT_SECONDS,
        *,
        ask: Callable[[Engine], ComponentHealth] = database_health,
    ) -> None:
        self._engine = engine
        self._timeout_seconds = timeout_seconds
        self._ask = ask
        self._lock = threading.Lock()
        self._in_flight: _Attempt | None = None

    def check(self) -> ComponentHealth:
        with self._lock:
            attempt = self._in_flight
            if attempt is None:
                attempt = self._in_flight = _Attempt()
                threading.Thread(target=self._run, args=(attempt,), name="health-db-probe", daemon=True).start()
        if attempt.done.wait(self._timeout_seconds) and attempt.result is not None:
            return attempt.result
        return ComponentHealth(
            state="down",
            detail=f"no answer within {self._timeout_seconds:g} s: the server is stalled or overloaded",
        )

    def _run(self, attempt: _Attempt) -> None:
        try:
            attempt.result = self._ask(self._engine)
        finally:
            with self._lock:
                self._in_flight = None
            attempt.done.set()


def probe_of(app: FastAPI) -> DatabaseProbe:
    """The app's probe, made on first use (one per app, over its read-only engine)."""
    probe: DatabaseProbe | None = getattr(app.state, "database_probe", None)
    if probe is None:
        with _create_lock:
            probe = getattr(app.state, "database_probe", None)
            if probe is None:
                probe = DatabaseProbe(app.state.engine)
                app.state.database_probe = probe
    return probe
