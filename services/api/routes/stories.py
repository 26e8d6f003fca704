"""``/stories``: find and page through stories (articles about one event); ``/stories/{id}``: one story in full."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import Response

from services.api.cursor import decode_cursor, encode_cursor
from services.api.deps import ReadDb
from services.api.errors import ParameterError
from services.api.params import CursorToken, EntityKey, SearchText, StoryId
from services.api.responses import model_response
from services.api.schemas import (
    DayCount,
    EntityTimeline,
    ErrorMessage,
    StoryArticle,
    StoryDetail,
    StoryEntity,
    StoryItem,
    StoryPage,
)
from services.store.db.queries.entities import resolve_entities
from services.store.db.queries.stories import (
    MULTI_REPORT_ORIGINALS,
    StoryFilters,
    StorySummary,
    get_story,
    list_stories,
)
from services.store.db.read_connection import ReadConnection

router = APIRouter(tags=["stories"])

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_REPEATED_VALUES = 10
MAX_MIN_ORIGINALS = 1000
_CURSOR_RESOURCE = "stories"
# The only order stories are listed in: the latest to gain an article first.
_SORT = "-last_ingested_at"


@router.get(
    "/stories",
    response_model=StoryPage,
    summary="List and find stories",
    description=(
        "Stories (articles from different outlets about one event), the latest to gain an article first, "
        "with keyset paging. Each filter keeps the stories with at least one article matching it: `q` "
        "(full-text, web-search syntax), `entity` (repeat for AND), `since`/`until` (an article's day is its "
        "publication date, or its ingest date when undated). Only stories of at least `min_originals` "
        "independently written articles are listed: two by default, so a single report and its reprints "
        "is not shown as a story; `min_originals=1` lists those too."
    ),
)
async def list_stories_route(
    db: ReadDb,
    q: Annotated[SearchText | None, Query(description="Web-search query over the stories' articles.")] = None,
    entity: Annotated[
        list[EntityKey] | None,
        Query(max_length=MAX_REPEATED_VALUES, description="Entity id or canonical name; repeat for AND."),
    ] = None,
    since: Annotated[date | None, Query(description="With an article dated on or after this day (YYYY-MM-DD).")] = None,
    until: Annotated[
        date | None, Query(description="With an article dated on or before this day (YYYY-MM-DD).")
    ] = None,
    min_originals: Annotated[
        int,
        Query(ge=1, le=MAX_MIN_ORIGINALS, description="Least original (not copied) articles a listed story has."),
    ] = MULTI_REPORT_ORIGINALS,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size, 1-100.")] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[CursorToken | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> Response:
    if since is not None and until is not None and until < since:
        raise ParameterError("until", f"is before since ({since.isoformat()})", until.isoformat())
    after = decode_cursor(cursor, resource=_CURSOR_RESOURCE, sort=_SORT) if cursor else None

    async def listed(conn: ReadConnection) -> list[StorySummary]:
        entity_ids = await resolve_entities(conn, entity or [], None)
        filters = StoryFilters(q=q, entity_ids=entity_ids, since=since, until=until, min_originals=min_originals)
        return await list_stories(conn, filters, limit=limit + 1, after=after)

    found = await db.read(listed)
    page, more = found[:limit], len(found) > limit
    next_cursor = None
    if more:
        last = page[-1]
        next_cursor = encode_cursor(_CURSOR_RESOURCE, _SORT, last.last_ingested_at, last.story_id)
    return model_response(StoryPage(items=[_item(story) for story in page], next_cursor=next_cursor))


def _item(story: StorySummary) -> StoryItem:
    return StoryItem(
        id=story.story_id,
        label=story.label,
        headline=story.headline,
        kind=story.kind,
        first_date=story.first_day,
        last_date=story.last_day,
        dates_from=story.dates_from,
        first_ingested_at=story.first_ingested_at,
        last_ingested_at=story.last_ingested_at,
        article_count=story.article_count,
        original_count=story.original_count,
        source_count=story.source_count,
        top_entities=[
            StoryEntity(
                id=e["id"],
                name=e["name"],
                type=e["type"],
                mention_count=e["mention_count"],
                article_count=e["article_count"],
            )
            for e in story.top_entities
        ],
    )


@router.get(
    "/stories/{story_id}",
    response_model=StoryDetail,
    summary="One story in full",
    description="The story's figures, its articles in time order, and how often its top entities appear per day.",
    responses={404: {"model": ErrorMessage, "description": "No article belongs to a story with this id."}},
)
async def get_story_route(
    db: ReadDb,
    story_id: Annotated[StoryId, Path(description="A story id from GET /stories or an article's story_id.")],
) -> Response:
    record = await db.read(lambda conn: get_story(conn, story_id))
    if record is None:
        raise HTTPException(404, f"No story with id {story_id!r}. Story ids are listed by GET /stories.")
    item = _item(record.summary)
    names = {e.id: e for e in item.top_entities}
    detail = StoryDetail(
        **item.model_dump(),
        articles=[
            StoryArticle(
                id=row["article_id"],
                title=row["title"],
                title_derived=row["title_derived"],
                source_file=row["source_file"],
                source=row["source"],
                published_at=row["published_at"],
                ingested_at=row["ingested_at"],
                duplicate_of=row["duplicate_of"],
                duplicate_kind=row["duplicate_kind"],
            )
            for row in record.articles
        ],
        entity_timeline=[
            EntityTimeline(
                id=entity_id,
                name=names[entity_id].name,
                type=names[entity_id].type,
                per_day=[DayCount(day=row["day"], article_count=row["article_count"]) for row in days],
            )
            for entity_id, days in record.timeline.items()
        ],
    )
    return model_response(detail)
