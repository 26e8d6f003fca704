"""SQLAlchemy Core statements run on the read pool's psycopg connections: one read path for every route.

The read API has one pool (``reader.ReadPool``, psycopg, asynchronous). The article listing writes
its SQL for psycopg directly; the other read queries are written with SQLAlchemy Core (``select``,
``text``) for readability. ``ReadConnection`` compiles those for psycopg (``%(name)s``
parameters, expanding ``IN`` lists rendered) and returns the rows fetched, with the part of
SQLAlchemy's result interface the queries use: ``mappings()``, ``scalars()``, ``scalar()``,
``one()``, ``first()``, ``all()``, and rows readable by position or column name.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import psycopg
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect
from sqlalchemy.sql import ClauseElement

# Rows as plain tuples (psycopg's default row factory), unpacked by the queries that read them.
AsyncConnection = psycopg.AsyncConnection[tuple[Any, ...]]
_DIALECT = psycopg_dialect.dialect()


class Row(tuple[Any, ...]):
    """A result row: a tuple whose columns are also attributes (``row.story_id``), as SQLAlchemy's rows."""

    _names: dict[str, int]

    def __getattr__(self, name: str) -> Any:
        try:
            return self[self._names[name]]
        except KeyError:
            raise AttributeError(name) from None

    def as_mapping(self) -> dict[str, Any]:
        return {name: self[position] for name, position in self._names.items()}


class Rows:
    """The rows one statement returned (fetched eagerly: read queries return pages, not streams)."""

    def __init__(self, names: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        positions = {name: position for position, name in enumerate(names)}
        self._rows = [Row(row) for row in rows]
        for row in self._rows:
            row._names = positions

    def __iter__(self) -> Iterator[Row]:
        return iter(self._rows)

    def all(self) -> list[Row]:
        return list(self._rows)

    def first(self) -> Row | None:
        return self._rows[0] if self._rows else None

    def one(self) -> Row:
        if len(self._rows) != 1:
            raise LookupError(f"expected one row, got {len(self._rows)}")
        return self._rows[0]

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalars(self) -> list[Any]:
        return [row[0] for row in self._rows]

    def mappings(self) -> list[dict[str, Any]]:
        return [row.as_mapping() for row in self._rows]


class ReadConnection:
    """One pooled read connection; ``raw`` is the psycopg connection itself (the listing uses it)."""

    def __init__(self, raw: AsyncConnection) -> None:
        self.raw = raw

    async def execute(self, statement: ClauseElement, params: Mapping[str, Any] | None = None) -> Rows:
        compiled = statement.compile(dialect=_DIALECT, compile_kwargs={"render_postcompile": True})
        values = {**compiled.params, **(params or {})}
        cursor = await self.raw.execute(str(compiled).encode(), values)
        names = [column.name for column in cursor.description or []]
        return Rows(names, await cursor.fetchall() if cursor.description else [])

    async def execute_driver_sql(self, sql: str, params: Mapping[str, Any] | None = None) -> Rows:
        """SQL already in psycopg's parameter style (``%(name)s``), run as it is."""
        cursor = await self.raw.execute(sql.encode(), params or {})
        names = [column.name for column in cursor.description or []]
        return Rows(names, await cursor.fetchall() if cursor.description else [])
