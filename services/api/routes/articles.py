"""``/articles``: search, filter and page through the archive; ``/articles/{id}``: one article in full."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path
from fastapi.responses import Response

from services.api.cursor import decode_cursor, encode_cursor
from services.api.deps import ArticleListing, ReadDb
from services.api.listing_query import ListingQuery, listing_query, resolve_filters
from services.api.params import Identifier
from services.api.responses import json_response, model_response
from services.api.schemas import (
    ArticleDetail,
    ArticleEntity,
    ArticlePage,
    ArticleSummary,
    DuplicateInfo,
    ErrorMessage,
    ReprintSummary,
    StoryInfo,
)
from services.store.db.listing import SORTS, ArticleRow, ArticleSort
from services.store.db.queries.articles import get_article
from services.store.db.reader import AsyncConnection
from services.store.snippets import opening, query_lexemes, search_snippet

router = APIRouter(tags=["articles"])

_CURSOR_RESOURCE = "articles"


@router.get(
    "/articles",
    response_model=ArticlePage,
    summary="Search and list articles",
    responses={404: {"model": ErrorMessage, "description": "An `entity` value names no known entity."}},
    description=(
        'Full-text search (`q`, Postgres web-search syntax: words, "phrases", OR, -exclusion), filters, '
        "sorting and keyset paging. By default reprints are folded into their original (`reprint_count`); "
        "`include_duplicates=true` lists every stored article. Undated articles (`published_at` null) sort "
        "last by publication date, are left out by `since`/`until` and are listed alone by `dated=false`. "
        "`sort=relevance` ranks the 500 newest matching articles (by ingest time), not every match; "
        "its cursor keeps that window, so later pages rank the same articles (plus newer arrivals). "
        "With `q` the snippet shows up to two passages around the query's words (matched by their "
        "English stem), each word in <mark>...</mark>."
    ),
)
async def list_articles_route(
    db: ReadDb, listing: ArticleListing, query: Annotated[ListingQuery, Depends(listing_query)]
) -> Response:
    sort = query.sort
    after, window_floor = _position(query)

    async def listed(conn: AsyncConnection) -> list[ArticleRow]:
        filters = await resolve_filters(conn, query.filters)
        return await listing.page(
            conn, filters, sort=sort, limit=query.limit + 1, after=after, window_floor=window_floor
        )

    rows = await db.run(listed)
    page, more = rows[: query.limit], len(rows) > query.limit
    next_cursor = None
    if more:
        last = page[-1]
        key = SORTS[sort].cursor_key(last.sort_key)
        if last.window_floor is not None:
            key = [key, *last.window_floor]
        next_cursor = encode_cursor(_CURSOR_RESOURCE, sort.value, key, last.article_id)
    # The page is spliced from the JSON Postgres rendered (the ArticlePage shape, response_model
    # above): building and validating ~400 entity models per page was most of a request's time.
    lexemes = query_lexemes(page[0].tsquery or "") if query.filters.q is not None and page else frozenset()
    items = ",".join(_item_json(row, lexemes if query.filters.q is not None else None) for row in page)
    return json_response(f'{{"items":[{items}],"next_cursor":{json.dumps(next_cursor)}}}')


def _position(query: ListingQuery) -> tuple[tuple[Any, str] | None, tuple[Any, str] | None]:
    """Where the page starts (the cursor's key and id), and for relevance the window its first page ranked."""
    if query.cursor is None:
        return None, None
    key, row_id = decode_cursor(query.cursor, resource=_CURSOR_RESOURCE, sort=query.sort.value)
    if query.sort is ArticleSort.relevance:
        rank, floor_at, floor_id = key
        return (rank, row_id), (floor_at, floor_id)
    return (key, row_id), None


def _entities(rows: list[dict[str, Any]]) -> list[ArticleEntity]:
    return [
        ArticleEntity(id=e["id"], name=e["name"], type=e["type"], mentions=e["mentions"], count=e["mention_count"])
        for e in rows
    ]


def _listed_fields(f: dict[str, Any]) -> dict[str, Any]:
    """The fields an article has both in a listing and in full (ArticleDetail extends ArticleItem)."""
    return {
        "id": f["article_id"],
        "title": f["derived_title"] if f["derived_title"] is not None else f["title"],
        "title_derived": f["derived_title"] is not None,
        "source_file": f["source_file"],
        "source": f["source"],
        "published_at": f["published_at"],
        "ingested_at": f["ingested_at"],
        "duplicate_of": f["duplicate_of"],
        "story_id": f["story_id"],
    }


def _item_json(row: ArticleRow, lexemes: frozenset[str] | None) -> str:
    """One ArticleItem as JSON: the fields object Postgres built, then snippet, reprint_count, entities.

    ``lexemes``: the search's words to highlight; None without ``q`` (the stored opening is ready to show).
    """
    snippet = search_snippet(row.snippet, lexemes) if lexemes is not None else row.snippet
    return (
        f'{row.head[:-1]},"snippet":{json.dumps(snippet, ensure_ascii=False)},'
        f'"reprint_count":{int(row.reprint_count)},"entities":{row.entities}}}'
    )


def _summary(row: dict[str, Any]) -> ArticleSummary:
    return ArticleSummary(
        id=row["article_id"],
        title=row["title"],
        title_derived=row["title_derived"],
        source_file=row["source_file"],
        source=row["source"],
        published_at=row["published_at"],
        ingested_at=row["ingested_at"],
    )


@router.get(
    "/articles/{article_id}",
    response_model=ArticleDetail,
    summary="One article in full",
    description="The full record: body, entities with their mentions, its reprints or its original, its story.",
    responses={404: {"model": ErrorMessage, "description": "No article has this id."}},
)
async def get_article_route(
    db: ReadDb,
    article_id: Annotated[Identifier, Path(description="An article id from GET /articles.")],
) -> Response:
    record = await db.read(lambda conn: get_article(conn, article_id))
    if record is None:
        raise HTTPException(404, f"No article with id {article_id!r}. Article ids are listed by GET /articles.")
    f = record.fields
    duplicate = (
        DuplicateInfo(
            of=f["duplicate_of"],
            kind=f["duplicate_kind"],
            similarity=f["similarity"],
            evidence=f["duplicate_evidence"],
        )
        if f["duplicate_of"] is not None
        else None
    )
    story = (
        StoryInfo(
            id=f["story_id"],
            article_count=record.story_size,
            articles=[_summary(row) for row in record.story_articles],
        )
        if f["story_id"] is not None
        else None
    )
    detail = ArticleDetail(
        **_listed_fields(f),
        snippet=opening(f["body"]),
        reprint_count=len(record.reprints),
        entities=_entities(record.entities),
        body=f["body"],
        boilerplate=f["boilerplate"],
        byline=f["byline"],
        dateline=f["dateline"],
        url=f["url"],
        word_count=f["word_count"],
        part=f["part"],
        sha256=f["sha256"],
        content_hash=f["content_hash"],
        received_at=f["received_at"],
        enriched_at=f["enriched_at"],
        entities_complete=f["entities_complete"],
        duplicate=duplicate,
        original=_summary(record.original) if record.original is not None else None,
        reprints=[
            ReprintSummary(
                **_summary(row).model_dump(),
                kind=row["duplicate_kind"],
                similarity=row["similarity"],
                evidence=row["duplicate_evidence"],
            )
            for row in record.reprints
        ],
        story=story,
    )
    return model_response(detail)
