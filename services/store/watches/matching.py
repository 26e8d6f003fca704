"""Deciding which filters each newly stored article matches: a few statements per batch, whatever the number of watches.

The filters mean what they mean in ``GET /articles``: ``q`` is the same web-search query on the
same search column, an ``entity`` value names the same entity group (``ROOTS_OF_VALUES_SQL``, the
listing's own resolution: id, name or surface form, any case; all values must be mentioned),
``type`` alone keeps articles mentioning an entity of that type, ``source`` is any of (any case),
and reprints match only with ``include_duplicates``. Each article is read once (its source, story,
link and entity groups); each distinct search query is tested once against the whole batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Connection

from services.store.db.models import TEXT_SEARCH_CONFIG
from services.store.db.queries.entities import ROOTS_OF_VALUES_SQL
from services.store.watches.schemas import WatchFilters

K = TypeVar("K", bound=Hashable)

_FACTS_SQL = """
SELECT a.article_id, lower(a.source) AS source, a.story_id, a.duplicate_of,
       coalesce(array_agg(DISTINCT coalesce(e.canonical_id, e.id)) FILTER (WHERE e.id IS NOT NULL), '{}') AS roots,
       coalesce(array_agg(DISTINCT ae.entity_type) FILTER (WHERE ae.entity_type IS NOT NULL), '{}') AS types
FROM articles a
LEFT JOIN article_entities ae ON ae.article_id = a.article_id
LEFT JOIN entities e ON e.id = ae.entity_id
WHERE a.article_id = ANY(%(ids)s)
GROUP BY a.article_id
"""
# Every value's entity groups with their type (the listing filters the same rows by type).
_ROOTS_SQL = ROOTS_OF_VALUES_SQL + "SELECT t.n, t.id, t.type FROM typed t"
_SEARCH_SQL = f"""
SELECT s.n, a.article_id
FROM unnest(CAST(%(queries)s AS text[])) WITH ORDINALITY AS s(q, n)
JOIN articles a ON a.article_id = ANY(%(ids)s)
WHERE a.search @@ websearch_to_tsquery('{TEXT_SEARCH_CONFIG}'::regconfig, s.q)
"""


@dataclass(frozen=True)
class _Facts:
    source: str | None
    story_id: str | None
    duplicate: bool
    roots: frozenset[str]
    types: frozenset[str]


def match_articles(
    conn: Connection, article_ids: Sequence[str], filters: Mapping[K, WatchFilters]
) -> dict[K, list[str]]:
    """For each key, the articles of ``article_ids`` (in that order) its filters match (keys matching none left out)."""
    if not article_ids or not filters:
        return {}
    ids = list(article_ids)
    facts = {
        row.article_id: _Facts(
            row.source, row.story_id, row.duplicate_of is not None, frozenset(row.roots), frozenset(row.types)
        )
        for row in conn.exec_driver_sql(_FACTS_SQL, {"ids": ids})
    }
    roots = _entity_roots(conn, {value for f in filters.values() for value in f.entity})
    searched = _searched(conn, ids, {f.q for f in filters.values() if f.q is not None})
    matched: dict[K, list[str]] = {}
    for key, f in filters.items():
        hits = [
            article_id
            for article_id in ids
            if article_id in facts and _matches(f, article_id, facts[article_id], roots, searched)
        ]
        if hits:
            matched[key] = hits
    return matched


def _matches(
    f: WatchFilters,
    article_id: str,
    facts: _Facts,
    roots: Mapping[str, Sequence[tuple[str, str]]],
    searched: Mapping[str, set[str]],
) -> bool:
    if facts.duplicate and not f.include_duplicates:
        return False
    if f.story is not None and facts.story_id != f.story:
        return False
    if f.source and facts.source not in {source.lower() for source in f.source}:
        return False
    if f.entity_type is not None and not f.entity and f.entity_type not in facts.types:
        return False
    for value in f.entity:
        groups = {root for root, kind in roots.get(value, ()) if f.entity_type is None or kind == f.entity_type}
        if not groups & facts.roots:
            return False
    return f.q is None or article_id in searched.get(f.q, set())


def _entity_roots(conn: Connection, values: set[str]) -> dict[str, list[tuple[str, str]]]:
    """Each value's entity groups (root id, type), as the listing resolves an ``entity`` value."""
    if not values:
        return {}
    ordered = sorted(values)
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for n, root, kind in conn.exec_driver_sql(_ROOTS_SQL, {"values": ordered, "type": None}):
        found[ordered[n - 1]].append((root, kind))
    return found


def _searched(conn: Connection, ids: list[str], queries: set[str]) -> dict[str, set[str]]:
    """Each query's matching articles among ``ids``."""
    if not queries:
        return {}
    ordered = sorted(queries)
    found: dict[str, set[str]] = defaultdict(set)
    for n, article_id in conn.exec_driver_sql(_SEARCH_SQL, {"queries": ordered, "ids": ids}):
        found[ordered[n - 1]].add(article_id)
    return found
