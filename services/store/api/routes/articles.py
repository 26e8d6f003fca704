"""``/articles``: search, filter and page through the archive; ``/articles/{id}``: one article in full."""

from __future__ import annotations

import json
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import RowMapping

from services.store.api.cursor import decode_cursor, encode_cursor
from services.store.api.deps import DbConnection, read_pool
from services.store.api.errors import ParameterError
from services.store.api.params import (
    CursorToken,
    EntityKey,
    EntityTypeParam,
    Identifier,
    SearchText,
    SourceName,
    StoryId,
)
from services.store.api.responses import json_response, model_response
from services.store.api.schemas import (
    ArticleDetail,
    ArticleEntity,
    ArticlePage,
    ArticleSummary,
    DuplicateInfo,
    ErrorMessage,
    ReprintSummary,
    StoryInfo,
)
from services.store.db.queries.articles import (
    ArticleFilters,
    ArticleRow,
    get_article,
    list_articles,
    resolve_entities_counted,
)
from services.store.db.reader import AsyncConnection
from services.store.snippets import opening, query_lexemes, search_snippet

router = APIRouter(tags=["articles"])

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_REPEATED_VALUES = 10
_CURSOR_RESOURCE = "articles"


class ArticleSort(StrEnum):
    newest_ingested = "-ingested_at"
    oldest_ingested = "ingested_at"
    newest_published = "-published_at"
    oldest_published = "published_at"
    relevance = "relevance"


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
    request: Request,
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
    sort: Annotated[
        ArticleSort, Query(description="`relevance` needs `q` and ranks the 500 newest matches.")
    ] = ArticleSort.newest_ingested,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size, 1-100.")] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[CursorToken | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> Response:
    if sort is ArticleSort.relevance and q is None:
        raise ParameterError("sort", "relevance ranks search results, so it needs q", sort.value)
    if since is not None and until is not None and until < since:
        raise ParameterError("until", f"is before since ({since.isoformat()})", until.isoformat())
    if dated is False and (since is not None or until is not None):
        raise ParameterError(
            "dated",
            "lists undated articles, which since/until (publication dates) never match: use one or the other",
            "false",
        )
    after = decode_cursor(cursor, resource=_CURSOR_RESOURCE, sort=sort.value) if cursor else None
    window_floor = None
    if after is not None and sort is ArticleSort.relevance:
        (rank, floor_at, floor_id), row_id = after
        after, window_floor = (rank, row_id), (floor_at, floor_id)

    async def listing(conn: AsyncConnection) -> list[ArticleRow]:
        entity_ids, entity_counts, archive_estimate = await resolve_entities_counted(conn, entity or [], entity_type)
        unknown = [value for value, ids in zip(entity or [], entity_ids, strict=True) if not ids]
        if unknown:
            of_type = f" of type {entity_type}" if entity_type else ""
            raise HTTPException(
                404,
                f"No entity{of_type} with id, name or surface form {unknown[0]!r}. "
                "Entities are listed by GET /entities?q=...",
            )
        filters = ArticleFilters(
            q=q,
            entity_ids=entity_ids,
            entity_counts=entity_counts,
            archive_estimate=archive_estimate,
            entity_type=entity_type,
            sources=source or [],
            story=story,
            since=since,
            until=until,
            dated=dated,
            include_duplicates=include_duplicates,
        )
        return await list_articles(
            conn, filters, sort=sort.value, limit=limit + 1, after=after, window_floor=window_floor
        )

    rows = await read_pool(request).run(listing)
    page, more = rows[:limit], len(rows) > limit
    next_cursor = None
    if more:
        last = page[-1]
        key = _cursor_key(sort, last.sort_key)
        if sort is ArticleSort.relevance and last.window_floor is not None:
            key = [key, *last.window_floor]
        next_cursor = encode_cursor(_CURSOR_RESOURCE, sort.value, key, last.article_id)
    # The page is spliced from the JSON Postgres rendered (the ArticlePage shape, response_model
    # above): building and validating ~400 entity models per page was most of a request's time.
    lexemes = query_lexemes(page[0].tsquery or "") if q is not None and page else frozenset()
    items = ",".join(_item_json(row, lexemes if q is not None else None) for row in page)
    return json_response(f'{{"items":[{items}],"next_cursor":{json.dumps(next_cursor)}}}')


def _cursor_key(sort: ArticleSort, value: Any) -> Any:
    # Undated articles sort last both ways: their key is the infinity the index expression uses.
    if value is None and sort is ArticleSort.newest_published:
        return "-infinity"
    if value is None and sort is ArticleSort.oldest_published:
        return "infinity"
    return value


def _entities(rows: list[RowMapping]) -> list[ArticleEntity]:
    return [
        ArticleEntity(id=e["id"], name=e["name"], type=e["type"], mentions=e["mentions"], count=e["mention_count"])
        for e in rows
    ]


def _listed_fields(f: RowMapping) -> dict[str, Any]:
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


def _summary(row: RowMapping) -> ArticleSummary:
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
def get_article_route(
    conn: DbConnection,
    article_id: Annotated[Identifier, Path(description="An article id from GET /articles.")],
) -> Response:
    record = get_article(conn, article_id)
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
