"""``/articles/facets`` and ``/articles/timeline``: counts of the articles ``GET /articles`` would list.

Both take the listing's filters (``listing_query.filter_query``, resolved as the listing resolves
them) and answer from ``services.store.db.queries.facets`` / ``timeline``; this module only reads
the parameters of the counts and shapes the answers.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from services.api.deps import FacetSampleArticles, ReadDb
from services.api.errors import ParameterError
from services.api.listing_query import FilterQuery, filter_query, resolve_filters
from services.api.responses import model_response
from services.api.schemas import (
    ArticleFacets,
    ArticleTimeline,
    EntityFacetCount,
    ErrorMessage,
    FacetLists,
    FacetSample,
    TimeFacetCount,
    TimelineBucket,
    ValueFacetCount,
)
from services.store.db.queries.facets import BucketCount, EntityCount, Facet, FacetAnswer, ValueCount, count_facets
from services.store.db.queries.timeline import MAX_TIMELINE_BUCKETS, Interval, Split, TooManyBuckets, timeline
from services.store.db.reader import AsyncConnection

router = APIRouter(tags=["articles"])

DEFAULT_FACET_SIZE = 10
MAX_FACET_SIZE = 100
_UNKNOWN_ENTITY: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorMessage, "description": "An `entity` value names no known entity."}
}
_FILTERS_NOTE = (
    "The filters are `GET /articles`' (its sort, cursor and page size do not apply); counts are of "
    "articles, originals only unless `include_duplicates=true`. Articles without a publication date "
    "are bucketed by the time they were ingested (UTC), and each bucket's `undated_count` says how many."
)


@router.get(
    "/articles/facets",
    response_model=ArticleFacets,
    summary="Count the matching articles by entity, type, source, story, day or hour",
    responses=_UNKNOWN_ENTITY,
    description=(
        "How many articles match, and for each `facet` asked its `limit` values with the most matching "
        "articles (most first, then by value): `entity` (an article naming an entity counts once), `type` "
        "(articles naming an entity of the type), `source` (any case), `story`; articles without a source "
        "or story are not in those facets. `day` and `hour` are the latest `limit` buckets with articles, "
        "in time order, by publication date (a date: dated articles are in their day's 00:00 hour). "
        "When a search matches many articles (more than about twice the server's sample size, "
        "`NEWSFLOW_FACET_SAMPLE_ARTICLES`, 500 by default), the counts are taken on a fixed slice of "
        "the matches (the same one for the same search every time) and scaled up: the answer then has "
        "`sample`, and every count its 95 % `margin`. `exact=true` counts every match, however long "
        "that takes. " + _FILTERS_NOTE
    ),
)
async def article_facets_route(
    db: ReadDb,
    sample_articles: FacetSampleArticles,
    query: Annotated[FilterQuery, Depends(filter_query)],
    facet: Annotated[list[Facet], Query(min_length=1, max_length=len(Facet), description="The facets to count.")],
    limit: Annotated[int, Query(ge=1, le=MAX_FACET_SIZE, description="Values per facet, 1-100.")] = DEFAULT_FACET_SIZE,
    exact: Annotated[
        bool, Query(description="Count every matching article, even when a sample would estimate them faster.")
    ] = False,
) -> Response:
    async def counted(conn: AsyncConnection) -> FacetAnswer:
        filters = await resolve_filters(conn, query)
        return await count_facets(conn, filters, facet, limit, None if exact else sample_articles)

    answer = await db.run(counted)
    lists = FacetLists(
        **{name.value: [_facet_value(name, value) for value in values] for name, values in answer.counts.items()}
    )
    sample = None
    if answer.sample is not None and answer.total_margin is not None:
        sample = FacetSample(share=answer.sample.share, articles=answer.sampled, total_margin=answer.total_margin)
    return model_response(ArticleFacets(total=answer.total, sample=sample, facets=lists), exclude_none=True)


def _facet_value(
    facet: Facet, value: EntityCount | ValueCount | BucketCount
) -> EntityFacetCount | ValueFacetCount | TimeFacetCount:
    if isinstance(value, EntityCount):
        return EntityFacetCount(id=value.id, name=value.name, type=value.type, count=value.count, margin=value.margin)
    if isinstance(value, ValueCount):
        return ValueFacetCount(value=value.value, count=value.count, margin=value.margin)
    shown = value.start.date().isoformat() if facet is Facet.day else value.start.strftime("%Y-%m-%dT%H:00:00Z")
    return TimeFacetCount(value=shown, count=value.count, undated_count=value.undated_count, margin=value.margin)


@router.get(
    "/articles/timeline",
    response_model=ArticleTimeline,
    summary="Count the matching articles per hour, day or week",
    responses=_UNKNOWN_ENTITY,
    description=(
        "Matching articles per `interval` bucket, every bucket from the first to the last with an article "
        f"(zeros included, at most {MAX_TIMELINE_BUCKETS}: a longer span is a 422 naming `interval`), by "
        "publication date (a date: dated articles are in their day's 00:00 hour). With `by`, each bucket "
        "is split among the `limit` entities or sources with the most matching articles (`values`, most "
        "first; their counts and the split's are exact, but over many matches the entities split by are "
        "the top of the entity facet as `GET /articles/facets` counts it, on a sample). " + _FILTERS_NOTE
    ),
)
async def article_timeline_route(
    db: ReadDb,
    sample_articles: FacetSampleArticles,
    query: Annotated[FilterQuery, Depends(filter_query)],
    interval: Annotated[
        Interval, Query(description="The buckets' length (UTC; weeks start on Monday).")
    ] = Interval.day,
    by: Annotated[Split | None, Query(description="Split each bucket by entity or by source.")] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_FACET_SIZE, description="With `by`: how many values to split by, 1-100.")
    ] = DEFAULT_FACET_SIZE,
) -> Response:
    async def counted(conn: AsyncConnection) -> ArticleTimeline:
        try:
            filters = await resolve_filters(conn, query)
            found = await timeline(conn, filters, interval, by, limit, sample_articles)
        except TooManyBuckets as too_many:
            raise ParameterError(
                "interval",
                f"the matching articles span {too_many.buckets} {interval.value}s, more than "
                f"{MAX_TIMELINE_BUCKETS} buckets: use a longer interval or narrow since/until",
                interval.value,
            ) from None
        values = [_facet_value(Facet.source, value) for value in found.values] if found.values is not None else None
        return ArticleTimeline(
            interval=interval.value,
            by=by.value if by is not None else None,
            total=found.total,
            values=values,
            buckets=[
                TimelineBucket(start=b.start, count=b.count, undated_count=b.undated_count, split=b.split)
                for b in found.buckets
            ],
        )

    return model_response(await db.run(counted), exclude_none=True)
