"""The listing's filters: what an analyst asked for, and the registry of plain filters.

A plain filter is one SQL condition on ``articles a`` with its bound values, plus what it does to
the planner's estimates. Adding one is one ``FilterSpec`` in ``FILTERS`` (and its field in
``ArticleFilters``); the planner and the SQL builders read the registry. The search (``q``) and
entity groups are not plain: they choose plans of their own (see ``planner``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any

from services.store.db.models import PUBLISHED_DESC_KEY_SQL, TEXT_SEARCH_CONFIG

# The search as Postgres parses it; every listing that has q binds %(q)s.
TSQUERY = f"websearch_to_tsquery('{TEXT_SEARCH_CONFIG}'::regconfig, %(q)s)"
# The published-date key the listing's date indexes are built on, on ``articles a``.
_PUBLISHED_KEY = PUBLISHED_DESC_KEY_SQL.replace("published_at", "a.published_at")


@dataclass(frozen=True)
class ArticleFilters:
    """What an analyst asked for; ``entity_ids`` holds one group of ids per ``entity`` value (AND of ORs)."""

    q: str | None = None
    entity_ids: Sequence[Sequence[str]] = ()
    entity_type: str | None = None
    sources: Sequence[str] = ()
    story: str | None = None
    since: date | None = None
    until: date | None = None
    # True: only articles with a publication date; False: only undated ones; None: both.
    dated: bool | None = None
    include_duplicates: bool = False
    # The file formats (content_type: text, html, json, jsonl) to list; empty: all.
    formats: Sequence[str] = ()
    # Original articles each entity group is known to appear in (entities.article_count), and the
    # archive's size as the planner sees it: they pick how the listing is driven (see planner).
    entity_counts: Sequence[int] = ()
    archive_estimate: float = 0.0


class Estimate(Enum):
    """What a filter does to the estimate of a search's matches, which sizes its windows."""

    # The lexeme statistics know nothing of it, but the planner's row estimate (EXPLAIN) counts it
    # from the column's statistics: a search with it is estimated by EXPLAIN.
    PLANNER = "planner"
    # The planner's estimate of it is a guess (an EXISTS over the links, a story id): a search
    # with it is not estimated at all, so no window is sized for it.
    GUESS = "guess"


@dataclass(frozen=True)
class FilterSpec:
    """One plain filter: when it applies, its condition on ``articles a``, its bound values."""

    name: str
    applies: Callable[[ArticleFilters], bool]
    condition: str
    values: Callable[[ArticleFilters], Mapping[str, Any]]
    estimate: Estimate


def _entity_type_alone(f: ArticleFilters) -> bool:
    # With entity values the type narrows which entities the names resolve to, not the articles.
    return f.entity_type is not None and not f.entity_ids


# In the order their conditions are written.
FILTERS: tuple[FilterSpec, ...] = (
    FilterSpec(
        "type",
        _entity_type_alone,
        "EXISTS (SELECT 1 FROM article_entities ae WHERE ae.article_id = a.article_id "
        "AND ae.entity_type = %(entity_type)s)",
        lambda f: {"entity_type": f.entity_type},
        Estimate.GUESS,
    ),
    FilterSpec(
        "source",
        lambda f: bool(f.sources),
        "lower(a.source) = ANY(%(sources)s)",
        lambda f: {"sources": [source.lower() for source in f.sources]},
        Estimate.PLANNER,
    ),
    FilterSpec(
        "story", lambda f: f.story is not None, "a.story_id = %(story)s", lambda f: {"story": f.story}, Estimate.GUESS
    ),
    # since and until are written on the published-date sort key (models.PUBLISHED_DESC_KEY_SQL,
    # undated as -infinity) so its index can meet another filter's in a BitmapAnd: an entity's
    # 90 days were 11 ms that way, 104-150 ms on the bare column (no index). The same articles:
    # -infinity is before any since, and until excludes undated articles explicitly.
    FilterSpec(
        "since",
        lambda f: f.since is not None,
        f"{_PUBLISHED_KEY} >= %(since)s",
        lambda f: {"since": f.since},
        Estimate.PLANNER,
    ),
    FilterSpec(
        "until",
        lambda f: f.until is not None,
        f"{_PUBLISHED_KEY} <= %(until)s AND a.published_at IS NOT NULL",
        lambda f: {"until": f.until},
        Estimate.PLANNER,
    ),
    FilterSpec(
        "format",
        lambda f: bool(f.formats),
        "a.content_type = ANY(%(formats)s)",
        lambda f: {"formats": list(f.formats)},
        Estimate.PLANNER,
    ),
    FilterSpec("dated", lambda f: f.dated is True, "a.published_at IS NOT NULL", lambda f: {}, Estimate.PLANNER),
    FilterSpec("undated", lambda f: f.dated is False, "a.published_at IS NULL", lambda f: {}, Estimate.PLANNER),
)
FILTERS_BY_NAME: dict[str, FilterSpec] = {spec.name: spec for spec in FILTERS}


def applied(filters: ArticleFilters) -> tuple[str, ...]:
    """The names of the plain filters a request uses, in registry order (part of its shape)."""
    return tuple(spec.name for spec in FILTERS if spec.applies(filters))


def filter_values(filters: ArticleFilters) -> dict[str, Any]:
    """Every plain filter's bound values (unused ones are ignored by the driver)."""
    values: dict[str, Any] = {}
    for spec in FILTERS:
        values.update(spec.values(filters))
    return values


def estimated_by(names: Sequence[str], estimate: Estimate) -> bool:
    """Whether any of the named filters affects the estimate this way."""
    return any(FILTERS_BY_NAME[name].estimate is estimate for name in names)
