"""Helpers for the store's tests; the databases and the API client they share with tests/api are
fixtures of ``tests/store_archive.py``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text

TABLES = ("articles", "entities", "article_entities", "article_listings", "dead_letters")


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every store table, in a stable order (the generated tsvector left out)."""
    result: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in TABLES:
            columns = [
                row[0]
                for row in conn.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_name = :t AND column_name <> 'search' ORDER BY ordinal_position"
                    ),
                    {"t": table},
                )
            ]
            listed = ", ".join(columns)
            # As text: a json column has no ordering operator.
            order = f"{columns[0]}, {columns[1]}::text"
            result[table] = [tuple(row) for row in conn.execute(text(f"SELECT {listed} FROM {table} ORDER BY {order}"))]
    return result
