"""``/entities``: find people, organisations and places by name prefix; ``/entities/{key}``: one entity's profile;
``/entities/{key}/related``: who appears with it in the articles a search matches (``queries.related``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import Response

from services.api.cursor import decode_cursor, encode_cursor
from services.api.deps import FacetSampleArticles, ReadDb
from services.api.listing_query import FilterQuery, filter_query, resolve_filters
from services.api.params import CursorToken, EntityKey, EntityTypeParam, SearchText
from services.api.responses import model_response
from services.api.schemas import (
    CoOccurringEntity,
    EntityDayCount,
    EntityDetail,
    EntityItem,
    EntityPage,
    ErrorMessage,
    NamedEntity,
    RelatedEntities,
    RelatedEntityCount,
    RelatedSample,
)
from services.store.db.queries.entities import entity_profile, find_entity, list_entities
from services.store.db.queries.facet_sample import Sample
from services.store.db.queries.related import Related, RelatedSort, margin, related_entities
from services.store.db.read_connection import AsyncConnection, ReadConnection

router = APIRouter(tags=["entities"])

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
_CURSOR_RESOURCE = "entities"
DEFAULT_RELATED_SIZE = 10
MAX_RELATED_SIZE = 100
DEFAULT_MIN_COUNT = 2
MAX_MIN_COUNT = 1_000_000
_ENTITY_KEY_DOC = "An entity id, name or surface form."
_UNKNOWN_KEY = "No entity with id, name or surface form {key!r}. Entities are listed by GET /entities?q=..."


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
    entity_key: Annotated[EntityKey, Path(description=_ENTITY_KEY_DOC)],
) -> Response:
    profile = await db.read(lambda conn: entity_profile(conn, entity_key))
    if profile is None:
        raise HTTPException(404, _UNKNOWN_KEY.format(key=entity_key))
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


@router.get(
    "/entities/{entity_key}/related",
    response_model=RelatedEntities,
    summary="Who appears with an entity in the articles a search matches, scored against chance",
    description=(
        "Among the articles `GET /articles` would list for the filters (its sort, cursor and page size do "
        "not apply; originals only unless `include_duplicates=true`; undated articles are counted like any "
        "other unless `since`, `until` or `dated` leave them out): `total` (N) of them match, `count` (|A|) name "
        "the subject (the entity the key names, with every name folded into it). Each other entity named in "
        "one of those articles has `count` (|A and B|: articles naming both) and `total` (|B|: matching "
        "articles naming it); an article counts once per entity. A raw count favours names every article "
        "carries, so the list is ranked by `sort`: `lift` (default) = count * N / (|A| * |B|), how many times "
        "more often the entity is named with the subject than in the matching articles at large; `npmi`, "
        "log(lift) / -log(count / N), 1 when the two are only ever named together, 0 when independent; or "
        "`count`. Scores are given, and ranked, to six decimals; ties go to the larger count, then the name. "
        "Both scores favour rare names, which one shared "
        "article makes look telling: only entities with at least `min_count` shared articles are ranked. "
        "When a search matches many articles (as for `GET /articles/facets`: more than about twice the server's "
        "sample size, `NEWSFLOW_FACET_SAMPLE_ARTICLES`, 500 by default), the counts are taken on fixed slices "
        "of the article ids (the same ones for the same request every time) and scaled up: |A| and each "
        "|A and B| on a slice holding about that many of the subject's articles, N and each |B| on a slice "
        "holding about twice as many matching articles. The answer then has `sample`, each entity a `margin` "
        "(of `count`) and a `total_margin`, both 95 %, and the scores are those of the estimates, taking "
        "|B| to be at least |A and B| (a name the total's slice missed counts as named only with the "
        "subject) and N at least |A|; `min_count` then applies to the shared articles in the slice. "
        "`exact=true` counts every match, however long that takes."
    ),
    responses={404: {"model": ErrorMessage, "description": "The key, or an `entity` filter, names no entity."}},
)
async def related_entities_route(
    db: ReadDb,
    entity_key: Annotated[EntityKey, Path(description=_ENTITY_KEY_DOC)],
    sample_articles: FacetSampleArticles,
    query: Annotated[FilterQuery, Depends(filter_query)],
    sort: Annotated[RelatedSort, Query(description="lift (default), npmi or count.")] = RelatedSort.by_lift,
    min_count: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_MIN_COUNT,
            description="Rank only entities named with the subject in at least this many matching articles.",
        ),
    ] = DEFAULT_MIN_COUNT,
    limit: Annotated[
        int, Query(ge=1, le=MAX_RELATED_SIZE, description="How many entities to list, 1-100.")
    ] = DEFAULT_RELATED_SIZE,
    exact: Annotated[
        bool, Query(description="Count every matching article, even when samples would estimate them faster.")
    ] = False,
) -> Response:
    async def counted(conn: AsyncConnection) -> tuple[dict[str, Any], Related]:
        # The subject first: an unknown key is the 404 of /entities/{key}, whatever the filters.
        subject = await find_entity(ReadConnection(conn), entity_key)
        if subject is None:
            raise HTTPException(404, _UNKNOWN_KEY.format(key=entity_key))
        filters = await resolve_filters(conn, query)
        found = await related_entities(
            conn,
            filters,
            subject["id"],
            subject["member_ids"],
            sort=sort,
            min_count=min_count,
            limit=limit,
            sample_target=None if exact else sample_articles,
        )
        return subject, found

    subject, found = await db.run(counted)
    answer = RelatedEntities(
        entity=NamedEntity(id=subject["id"], name=subject["name"], type=subject["type"]),
        total=found.total,
        count=found.count,
        sample=_related_sample(found),
        related=[
            RelatedEntityCount(
                id=r.id,
                name=r.name,
                type=r.type,
                count=r.count,
                total=r.total,
                lift=r.lift,
                npmi=r.npmi,
                margin=r.margin,
                total_margin=r.total_margin,
            )
            for r in found.related
        ],
    )
    return model_response(answer, exclude_none=True)


def _related_sample(found: Related) -> RelatedSample | None:
    """The slices an estimated answer was counted on (a side counted whole: share 1, margin 0)."""
    if found.sample is None:
        return None
    sample = found.sample
    return RelatedSample(
        share=_share(sample.subject),
        articles=sample.subject_articles,
        count_margin=margin(sample.subject, sample.subject_articles),
        total_share=_share(sample.total),
        total_articles=sample.total_articles,
        total_margin=margin(sample.total, sample.total_articles),
    )


def _share(sample: Sample | None) -> float:
    return 1.0 if sample is None else sample.share
