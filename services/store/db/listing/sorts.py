"""The listing's sorts, one registry entry each: SQL key, keyset cast, page key, index, cursor codec.

Adding a sort is one ``ArticleSort`` member and one ``SortSpec`` in ``SORTS`` (the route's enum,
the SQL builders and the cursors read them), plus an index serving its key when it is to be fast.
Cursor keys decode here, raising ValueError for a key this API never issued; ``api.cursor`` turns
that into a 422 naming ``cursor``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from services.store.db.listing.filters import TSQUERY
from services.store.db.models import PUBLISHED_ASC_KEY_SQL, PUBLISHED_DESC_KEY_SQL, SOURCE_KEY_SQL

_INFINITE_DATES = ("infinity", "-infinity")


class ArticleSort(StrEnum):
    newest_ingested = "-ingested_at"
    oldest_ingested = "ingested_at"
    newest_published = "-published_at"
    oldest_published = "published_at"
    relevance = "relevance"
    source_desc = "-source"


def aware_datetime(value: Any) -> datetime:
    """An ISO timestamp with its time zone, as cursors carry them."""
    if not isinstance(value, str):
        raise ValueError("not a timestamp")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("a timestamp without a time zone")
    return parsed


def _date_or_infinity(value: Any) -> str:
    # Published keys travel as 'YYYY-MM-DD' or '±infinity' (Python dates have no infinity).
    if value in _INFINITE_DATES:
        return str(value)
    if not isinstance(value, str):
        raise ValueError("not a date")
    return date.fromisoformat(value).isoformat()


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("not a text")
    return value


def _rank_and_floor(value: Any) -> list[Any]:
    # [rank, window floor's ingested_at, window floor's id]: the rank to continue after and the
    # window of newest matches the first page ranked (see ListingTuning.relevance_window).
    if not isinstance(value, list) or len(value) != 3:
        raise ValueError("not a relevance key")
    rank, floor_at, floor_id = value
    if isinstance(rank, bool) or not isinstance(rank, int | float) or not math.isfinite(rank):
        raise ValueError("not a rank")
    if not isinstance(floor_id, str):
        raise ValueError("not an article id")
    return [float(rank), aware_datetime(floor_at), floor_id]


@dataclass(frozen=True)
class SortSpec:
    """How one sort orders, pages and resumes a listing."""

    # The sort key over ``articles a``: the expression its index is built on.
    key: str
    # The cursor's key as SQL compares it with ``key`` (a bound value, cast where needed).
    keyset_value: str
    # The page's order again, over the page's columns.
    page_key: str
    descending: bool
    decode_key: Callable[[Any], Any]
    # The index that serves ``key`` (documentation, and a test checks it exists).
    index: str
    # ``key`` written so that no index serves it: a search's matches taken from the GIN index are
    # then sorted, instead of the planner walking the sort's index and testing each article.
    unindexed_key: str
    # The cursor's key for a row's sort value (None: an undated article under a published sort).
    undated_key: str | None = None
    # The page selects the plain column, not the key: the ±infinity of the key cannot load into Python.
    selected_column: str | None = None
    needs_q: bool = False

    @property
    def by_ingest_time(self) -> bool:
        return self.key == "a.ingested_at"

    @property
    def direction(self) -> str:
        return "DESC" if self.descending else "ASC"

    def cursor_key(self, value: Any) -> Any:
        """A row's sort value as its cursor carries it."""
        return self.undated_key if value is None and self.undated_key is not None else value


def _published(key_sql: str, *, descending: bool) -> SortSpec:
    infinity = "-infinity" if descending else "infinity"
    return SortSpec(
        key=key_sql.replace("published_at", "a.published_at"),
        keyset_value="CAST(%(after_key)s AS date)",
        page_key=f"coalesce(page.published_at, '{infinity}'::date)",
        descending=descending,
        decode_key=_date_or_infinity,
        index="ix_articles_published_desc" if descending else "ix_articles_published_asc",
        unindexed_key=f"{key_sql.replace('published_at', 'a.published_at')} + 0",
        undated_key=infinity,
        selected_column="a.published_at",
    )


def _ingested(*, descending: bool) -> SortSpec:
    return SortSpec(
        key="a.ingested_at",
        keyset_value="%(after_key)s",
        page_key="page.sort_value",
        descending=descending,
        decode_key=aware_datetime,
        index="ix_articles_ingested",
        unindexed_key="a.ingested_at + interval '0'",
    )


SORTS: dict[ArticleSort, SortSpec] = {
    ArticleSort.newest_ingested: _ingested(descending=True),
    ArticleSort.oldest_ingested: _ingested(descending=False),
    ArticleSort.newest_published: _published(PUBLISHED_DESC_KEY_SQL, descending=True),
    ArticleSort.oldest_published: _published(PUBLISHED_ASC_KEY_SQL, descending=False),
    ArticleSort.relevance: SortSpec(
        key=f"ts_rank(a.search, {TSQUERY})",
        # ts_rank is a real: a cursor's rank, printed as the shortest text that reads back as that
        # real, is compared as one (as a double it differs from the widened real, and skipped ties).
        keyset_value="CAST(%(after_key)s AS real)",
        page_key="page.sort_value",
        descending=True,
        decode_key=_rank_and_floor,
        index="ix_articles_search",
        unindexed_key=f"ts_rank(a.search, {TSQUERY})",
        needs_q=True,
    ),
    ArticleSort.source_desc: SortSpec(
        key=SOURCE_KEY_SQL.replace("source", "a.source"),
        keyset_value="%(after_key)s",
        page_key="page.sort_value",
        descending=True,
        decode_key=_text,
        index="ix_articles_source_order",
        unindexed_key=f"{SOURCE_KEY_SQL.replace('source', 'a.source')} || ''",
    ),
}
