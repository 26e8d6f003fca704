"""The article filters' query parameters, and ``GET /articles``'s, as validated objects (FastAPI dependencies).

``FilterQuery`` is what ``GET /articles``, ``/articles/facets`` and ``/articles/timeline`` share:
which articles match. ``ListingQuery`` adds the listing's sort and page. Each parameter's
documentation lives here once; the checks that span parameters (relevance needs q, until after
since, dated=false without dates) raise a 422 naming the parameter. ``resolve_filters`` turns a
``FilterQuery`` into the store's ``ArticleFilters`` (entity values resolved, 404 for an unknown one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Query

from services.api.errors import ParameterError
from services.api.params import CursorToken, EntityKey, EntityTypeParam, SearchText, SourceName, StoryId
from services.store.db.listing import SORTS, ArticleFilters, ArticleSort
from services.store.db.queries.entities import resolve_entities_counted
from services.store.db.read_connection import AsyncConnection

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_REPEATED_VALUES = 10
# The formats ingest reads a file as (RawArticle.content_type).
ArticleFormat = Literal["text", "html", "json", "jsonl"]


@dataclass(frozen=True)
class FilterQuery:
    """Which articles a client asked about (``GET /articles`` and its counts), checked."""

    q: str | None
    entity: list[str]
    entity_type: str | None
    sources: list[str]
    story: str | None
    since: date | None
    until: date | None
    dated: bool | None
    include_duplicates: bool
    formats: list[str]

    def __post_init__(self) -> None:
        """The checks that span parameters: a 422 naming the parameter to change."""
        if self.since is not None and self.until is not None and self.until < self.since:
            raise ParameterError("until", f"is before since ({self.since.isoformat()})", self.until.isoformat())
        if self.dated is False and (self.since is not None or self.until is not None):
            raise ParameterError(
                "dated",
                "lists undated articles, which since/until (publication dates) never match: use one or the other",
                "false",
            )


@dataclass(frozen=True)
class ListingQuery:
    """What a client asked ``GET /articles`` for, checked: the filters, the sort and the page."""

    filters: FilterQuery
    sort: ArticleSort
    limit: int
    cursor: str | None

    def __post_init__(self) -> None:
        if SORTS[self.sort].needs_q and self.filters.q is None:
            raise ParameterError("sort", f"{self.sort.value} ranks search results, so it needs q", self.sort.value)


async def filter_query(
    q: Annotated[SearchText | None, Query(description="Web-search query over title and body; ranked.")] = None,
    entity: Annotated[
        list[EntityKey] | None,
        Query(
            max_length=MAX_REPEATED_VALUES,
            description="Entity id, name or surface form (any case); repeat for AND. 404 when none is known.",
        ),
    ] = None,
    entity_type: Annotated[
        EntityTypeParam | None,
        Query(
            alias="type",
            description="Only articles mentioning an entity of this type, any case (or, with `entity`, "
            "only entities of this type match the names given).",
        ),
    ] = None,
    source: Annotated[
        list[SourceName] | None,
        Query(max_length=MAX_REPEATED_VALUES, description="Agency or outlet (any case); repeat for OR."),
    ] = None,
    story: Annotated[StoryId | None, Query(description="Only articles of this story.")] = None,
    since: Annotated[
        date | None,
        Query(
            description="Published on or after this date (YYYY-MM-DD). Undated articles (the file gave no "
            "publication date) have no date to compare and are left out; list them with `dated=false`."
        ),
    ] = None,
    until: Annotated[
        date | None,
        Query(
            description="Published on or before this date (YYYY-MM-DD). Undated articles are left out, as with `since`."
        ),
    ] = None,
    dated: Annotated[
        bool | None,
        Query(
            description="`true`: only articles with a publication date; `false`: only undated ones "
            "(`published_at` null: the file gave no date). Default: both."
        ),
    ] = None,
    include_duplicates: Annotated[
        bool, Query(description="List reprints and copies too, instead of folding them into their original.")
    ] = False,
    formats: Annotated[
        list[ArticleFormat] | None,
        Query(
            alias="format",
            max_length=MAX_REPEATED_VALUES,
            description="The format the file was read as: text, html, json or jsonl; repeat for OR.",
        ),
    ] = None,
) -> FilterQuery:
    return FilterQuery(
        q=q,
        entity=entity or [],
        entity_type=entity_type,
        sources=source or [],
        story=story,
        since=since,
        until=until,
        dated=dated,
        include_duplicates=include_duplicates,
        formats=list(formats or []),
    )


async def listing_query(
    filters: Annotated[FilterQuery, Depends(filter_query)],
    sort: Annotated[
        ArticleSort, Query(description="`relevance` needs `q` and ranks the 500 newest matches.")
    ] = ArticleSort.newest_ingested,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size, 1-100.")] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[CursorToken | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> ListingQuery:
    return ListingQuery(filters=filters, sort=sort, limit=limit, cursor=cursor)


async def resolve_filters(conn: AsyncConnection, query: FilterQuery) -> ArticleFilters:
    """The query's filters with its entity values resolved; 404 naming the first value no entity has."""
    entity_ids, entity_counts, archive_estimate = await resolve_entities_counted(conn, query.entity, query.entity_type)
    unknown = [value for value, ids in zip(query.entity, entity_ids, strict=True) if not ids]
    if unknown:
        of_type = f" of type {query.entity_type}" if query.entity_type else ""
        raise HTTPException(
            404,
            f"No entity{of_type} with id, name or surface form {unknown[0]!r}. "
            "Entities are listed by GET /entities?q=...",
        )
    return ArticleFilters(
        q=query.q,
        entity_ids=entity_ids,
        entity_counts=entity_counts,
        archive_estimate=archive_estimate,
        entity_type=query.entity_type,
        sources=query.sources,
        story=query.story,
        since=query.since,
        until=query.until,
        dated=query.dated,
        include_duplicates=query.include_duplicates,
        formats=query.formats,
    )
