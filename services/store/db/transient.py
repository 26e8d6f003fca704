"""Which database failures may heal by themselves: the writer retries its batch, the API answers 503.

One rule for both sides of the store's tables: the consumers' handlers (``services.store.consumer``)
turn such a failure into ``TransientError`` (the batch is retried with backoff), the read API
(``services.api.errors``) into 503 with ``Retry-After``.
"""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

# SQLSTATE classes and codes that describe the server's or the connection's state, not the data:
# connection exceptions, transaction rollbacks (deadlock, serialization), insufficient resources,
# operator intervention (shutdown, query cancelled by statement_timeout), lock not available,
# and writes refused by a read-only server (a failover in progress).
_TRANSIENT_SQLSTATE_CLASSES = ("08", "40", "53", "57", "58")
_TRANSIENT_SQLSTATES = ("55P03", "25006")


def is_transient(exc: sa_exc.SQLAlchemyError) -> bool:
    """True when retrying the same batch later may succeed."""
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        sqlstate = getattr(exc.orig, "sqlstate", None)
        if sqlstate:
            return sqlstate[:2] in _TRANSIENT_SQLSTATE_CLASSES or sqlstate in _TRANSIENT_SQLSTATES
        # No SQLSTATE: the failure happened below SQL (refused connection, broken socket).
        return isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)
    return isinstance(exc, sa_exc.TimeoutError | sa_exc.DisconnectionError)
