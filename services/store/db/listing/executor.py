"""The listing's one executor: runs the planner's statements until one answers, and reads their rows.

``Listing`` is built once per application with its tuning and statistics (``app.state.listing``)
and is the only way routes, benches and tests list articles.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from services.store.db.listing.filters import ArticleFilters
from services.store.db.listing.matching import matching_values
from services.store.db.listing.planner import (
    ListingRequest,
    Outcome,
    Statement,
    estimate_wanted,
    first_statement,
    next_statement,
    plan_shape,
)
from services.store.db.listing.shape import Access
from services.store.db.listing.sorts import ArticleSort
from services.store.db.listing.sql import listing_sql
from services.store.db.listing.statistics import ListingStatistics
from services.store.db.listing.tuning import ListingTuning
from services.store.db.reader import AsyncConnection


@dataclass
class ArticleRow:
    """One listed article as Postgres rendered it: JSON texts to splice into the page, and its keyset position.

    ``head`` is the item's own fields as a JSON object (``id`` to ``story_id``), ``entities`` its
    entity list as JSON, ``snippet`` the stored opening, or with ``q`` the body to highlight the
    words of ``tsquery`` in.
    """

    article_id: str
    sort_key: Any
    head: str
    snippet: str
    tsquery: str | None
    reprint_count: int
    entities: str
    # sort=relevance: the oldest (ingested_at, article_id) of the window ranked, kept in the cursor
    # so later pages rank the same window (plus any newer arrivals).
    window_floor: tuple[Any, str] | None = None
    # How many candidates the statement went through: with sort=relevance the matches its window
    # ranked, in a bounded link walk the links it read (at most the walk).
    examined: int | None = None


# Called after each statement with what it returned (tests and traces see which plan answered).
Observer = Callable[[ListingRequest, Statement, Sequence[ArticleRow]], None]


class Listing:
    """Lists articles: plans with its tuning and statistics, runs the statements on a read connection."""

    def __init__(self, tuning: ListingTuning | None = None, statistics: ListingStatistics | None = None) -> None:
        self.tuning = tuning if tuning is not None else ListingTuning()
        self.statistics = statistics if statistics is not None else ListingStatistics()

    async def page(
        self,
        conn: AsyncConnection,
        filters: ArticleFilters,
        *,
        sort: ArticleSort | str,
        limit: int,
        after: tuple[Any, str] | None = None,
        window_floor: tuple[Any, str] | None = None,
        observe: Observer | None = None,
    ) -> list[ArticleRow]:
        """Up to ``limit`` articles after the keyset position ``after`` (sort value, article_id), in ``sort`` order.

        ``window_floor`` (sort=relevance): the floor of the window the first page ranked (its
        rows' ``window_floor``); without it the newest matches are ranked. Most pages take one
        statement; a search may take a few, each run only when the one before found too little.
        """
        request = ListingRequest(filters, ArticleSort(sort), limit, after, window_floor)
        shape = plan_shape(request)
        windows = self.statistics.histogram
        await self.statistics.refresh(conn)
        params = self._values(request)
        kind = estimate_wanted(request, shape, windows, self.tuning)
        share = await self.statistics.estimate(conn, kind, shape, params) if kind is not None else None
        statement = first_statement(request, shape, windows, share, self.tuning)
        rows: list[ArticleRow] = []
        while statement is not None:
            rows = await self._run(conn, request, statement, params)
            if observe is not None:
                observe(request, statement, rows)
            outcome = Outcome(len(rows), rows[0].examined if rows else None)
            statement = next_statement(request, windows, self.tuning, statement, outcome)
        return rows

    def _values(self, request: ListingRequest) -> dict[str, Any]:
        """Every value the request's statements bind."""
        filters, after, floor = request.filters, request.after, request.window_floor
        params: dict[str, Any] = {
            "limit": request.limit,
            "after_key": after[0] if after else None,
            "after_id": after[1] if after else None,
            "floor_at": floor[0] if floor else None,
            "floor_id": floor[1] if floor else None,
            "snippet_chars": self.tuning.snippet_source_max_chars,
            "relevance_window": self.tuning.relevance_window,
            **matching_values(filters),
        }
        return params

    async def _run(
        self, conn: AsyncConnection, request: ListingRequest, statement: Statement, params: dict[str, Any]
    ) -> list[ArticleRow]:
        shape = statement.shape
        values = {**params, "walk": statement.walk}
        if statement.window_edge is not None:
            values["window_edge"] = statement.window_edge
        if shape.link_group is not None:
            group = request.filters.entity_ids[shape.link_group]
            values.update({f"link_id_{i}": entity for i, entity in enumerate(group)})
        # A walk's plan is its shape's (an index in sort order, a bounded number of tests), so it is
        # prepared and its plan kept: planning took ~0.5 ms of the ~1-3 ms such a page costs. The
        # other shapes are planned with their values (see session_settings).
        prepare = shape.access in (Access.WALK, Access.LINKS)
        cursor = await conn.execute(listing_sql(shape), values, prepare=prepare)
        relevance = shape.sort is ArticleSort.relevance
        return [
            ArticleRow(
                article_id=article_id,
                sort_key=sort_value,
                head=head,
                snippet=snippet or "",
                tsquery=tsquery,
                reprint_count=reprint_count,
                entities=entities_json,
                window_floor=(request.window_floor or (floor_at, floor_id)) if relevance else None,
                examined=examined,
            )
            for (
                article_id,
                sort_value,
                head,
                snippet,
                tsquery,
                floor_at,
                floor_id,
                examined,
                reprint_count,
                entities_json,
            ) in await cursor.fetchall()
        ]
