"""``/entities``: find people, organisations and places by name prefix; ``/entities/{key}``: one entity's profile."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import Response

from services.api.cursor import decode_cursor, encode_cursor
from services.api.deps import ReadDb
from services.api.params import CursorToken, EntityKey, EntityTypeParam, SearchText
from services.api.responses import model_response
from services.api.schemas import (
    CoOccurringEntity,
    EntityDayCount,
    EntityDetail,
    EntityItem,
    EntityPage,
    ErrorMessage,
)
from services.store.db.queries.entities import entity_profile, list_entities

router = APIRouter(tags=["entities"])

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
_CURSOR_RESOURCE = "entities"


class EntitySort(StrEnum):
    most_articles = "-article_count"
    name = "name"


@router.get(
    "/entities",
    response_model=EntityPage,
    summary="List and find entities",
    description=(
        "Entities whose name or any surface form has words starting with each word of `q` (any case), "
        "and of a type (any case), most-mentioned first by default. Each entity is listed once, under "
        'the name the archive knows it by ("Trump" is listed as Donald Trump when he is the only Trump).'
    ),
)
async def list_entities_route(
    db: ReadDb,
    q: Annotated[
        SearchText | None, Query(description="Words of a name or surface form, each a prefix, any case.")
    ] = None,
    entity_type: Annotated[
        EntityTypeParam | None, Query(alias="type", description="Only entities of this type (any case).")
    ] = None,
    sort: Annotated[EntitySort, Query(description="-article_count (default) or name.")] = EntitySort.most_articles,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size, 1-100.")] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[CursorToken | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> Response:
    after = decode_cursor(cursor, resource=_CURSOR_RESOURCE, sort=sort.value) if cursor else None
    rows = await db.read(
        lambda conn: list_entities(conn, q=q, entity_type=entity_type, sort=sort.value, limit=limit + 1, after=after)
    )
    page, more = rows[:limit], len(rows) > limit
    next_cursor = None
    if more:
        last = page[-1]
        key = last["article_count"] if sort is EntitySort.most_articles else last["name"]
        next_cursor = encode_cursor(_CURSOR_RESOURCE, sort.value, key, last["id"])
    items = [EntityItem(id=r["id"], name=r["name"], type=r["type"], article_count=r["article_count"]) for r in page]
    return model_response(EntityPage(items=items, next_cursor=next_cursor))


@router.get(
    "/entities/{entity_key}",
    response_model=EntityDetail,
    summary="One entity's profile",
    description=(
        "By id, by name or by any surface form, in any case (when several entities answer, the most-mentioned). "
        "Every name and surface form it was found under, the entities most often in the same articles, "
        "and articles per day, over the archive's whole group of rows for it."
    ),
    responses={404: {"model": ErrorMessage, "description": "No entity has this id, name or surface form."}},
)
async def get_entity_route(
    db: ReadDb,
    entity_key: Annotated[EntityKey, Path(description="An entity id, name or surface form.")],
) -> Response:
    profile = await db.read(lambda conn: entity_profile(conn, entity_key))
    if profile is None:
        raise HTTPException(
            404, f"No entity with id, name or surface form {entity_key!r}. Entities are listed by GET /entities?q=..."
        )
    f = profile.fields
    detail = EntityDetail(
        id=f["id"],
        name=f["name"],
        type=f["type"],
        article_count=f["article_count"],
        aliases=f["aliases"],
        first_seen_at=f["first_seen_at"],
        co_occurring=[
            CoOccurringEntity(id=r["id"], name=r["name"], type=r["type"], shared_articles=r["shared_articles"])
            for r in profile.co_occurring
        ],
        per_day=[
            EntityDayCount(day=r["day"], article_count=r["article_count"], undated_count=r["undated_count"])
            for r in profile.per_day
        ],
    )
    return model_response(detail)
