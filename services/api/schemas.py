"""Response models of the read API: the JSON contract analysts and the OpenAPI document see.

Field names are the issue-2 contract (``id``, ``title``, ``source_file``, ``published_at``,
``ingested_at``, ``duplicate_of``, ``story_id``, ``entities``) plus later additions; never rename.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.events import EntityType, LinkEvidence


class ArticleEntity(BaseModel):
    id: str
    name: str = Field(description="Canonical name, e.g. 'Imran Khan'.")
    type: EntityType
    mentions: list[str] = Field(description="Surface forms as they appear in this article's text.")
    count: int = Field(description="Number of mentions in this article.")


_TITLE = "The headline the file gives; else one derived from the body (see `title_derived`)."
_TITLE_DERIVED = "True when the file has no headline and `title` is the body's first sentence, trimmed."


class ArticleItem(BaseModel):
    id: str
    title: str | None = Field(description=_TITLE)
    title_derived: bool = Field(description=_TITLE_DERIVED)
    source_file: str = Field(description="The dropped file's name, relative to the inbox.")
    source: str | None = Field(description="Agency or outlet credited, when known.")
    published_at: date | None
    ingested_at: datetime
    duplicate_of: str | None = Field(description="The original's id when this article is a reprint or copy.")
    story_id: str | None
    snippet: str = Field(
        description="HTML-safe excerpt of the body; with `q`, matches are wrapped in <mark>...</mark>."
    )
    reprint_count: int = Field(description="How many stored articles are reprints or copies of this one.")
    entities: list[ArticleEntity]


class ArticlePage(BaseModel):
    items: list[ArticleItem]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class ArticleSummary(BaseModel):
    id: str
    title: str | None = Field(description=_TITLE)
    title_derived: bool = Field(description=_TITLE_DERIVED)
    source_file: str
    source: str | None
    published_at: date | None
    ingested_at: datetime


class ReprintSummary(ArticleSummary):
    kind: Literal["exact", "reprint"] = Field(description="exact: the same text; reprint: a near-identical copy.")
    similarity: float | None
    evidence: LinkEvidence | None = Field(description="What matched; null on links stored before it was recorded.")


class DuplicateInfo(BaseModel):
    of: str
    kind: Literal["exact", "reprint"]
    similarity: float | None
    evidence: LinkEvidence | None = Field(
        description=(
            "What matched, and against which article of the group: identical text, shared passages "
            "(exact 5-word runs) or noisy text (letters of a scanned or lightly rewritten copy, with the "
            "model's confidence). Null on links stored before it was recorded."
        )
    )


class StoryInfo(BaseModel):
    id: str
    article_count: int
    articles: list[ArticleSummary] = Field(description="The story's articles, oldest first (at most 50).")


class ArticleDetail(ArticleItem):
    body: str
    boilerplate: list[str] = Field(description="Text the ingest service removed from the body (site furniture).")
    byline: str | None
    dateline: str | None
    url: str | None
    word_count: int
    part: int
    sha256: str
    content_hash: str
    received_at: datetime
    enriched_at: datetime
    entities_complete: bool = Field(
        description="False while only the head of a long article is tagged: the rest of its entities are "
        "being tagged and appear when done."
    )
    duplicate: DuplicateInfo | None
    original: ArticleSummary | None = Field(description="The original, when this article is a reprint or copy.")
    reprints: list[ReprintSummary] = Field(description="Stored reprints and copies of this article, oldest first.")
    story: StoryInfo | None


class EntityItem(BaseModel):
    id: str
    name: str
    type: EntityType
    article_count: int = Field(description="Original articles mentioning the entity (a reprint group counts once).")


class EntityPage(BaseModel):
    items: list[EntityItem]
    next_cursor: str | None


class CoOccurringEntity(BaseModel):
    id: str
    name: str
    type: EntityType
    shared_articles: int = Field(description="Articles that mention both entities.")


class DayCount(BaseModel):
    day: date
    article_count: int


class EntityDayCount(DayCount):
    undated_count: int = Field(
        description="Of these, articles without a publication date, counted on the day they were ingested (UTC)."
    )


class EntityDetail(EntityItem):
    aliases: list[str] = Field(
        description="Every surface form the entity was found under, and the names of the rows folded into it."
    )
    first_seen_at: datetime
    co_occurring: list[CoOccurringEntity] = Field(description="Entities most often in the same articles (top 10).")
    per_day: list[EntityDayCount] = Field(
        description="Articles per day by publication date, oldest first; last 366 days. An undated article "
        "counts on its ingest day (UTC) and is counted in that day's `undated_count`."
    )


class ReasonCount(BaseModel):
    stage: str
    reason: str
    count: int


class Stats(BaseModel):
    articles: int
    originals: int = Field(description="Articles that are not reprints or copies of another.")
    reprints: int
    entities: int
    stories: int
    rejected_files: int = Field(description="Distinct files (name and content) the ingest stage rejected.")
    dead_letters: int = Field(description="Everything any stage sent to the dead-letter topic.")
    dead_letters_by_reason: list[ReasonCount]
    last_ingested_at: datetime | None
    last_stored_at: datetime | None
    last_dead_letter_at: datetime | None


class ComponentHealth(BaseModel):
    state: str
    detail: str = ""


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    reason: str | None = None
    database: ComponentHealth
    consumers: dict[str, ComponentHealth]


class ErrorMessage(BaseModel):
    detail: str


class StoryEntity(BaseModel):
    id: str
    name: str
    type: EntityType
    mention_count: int = Field(description="Mentions across the story's original articles.")
    article_count: int = Field(description="Original articles of the story that mention it.")


class StoryItem(BaseModel):
    id: str
    label: str = Field(description="The headline, else the story's most mentioned entities (up to 3).")
    headline: str | None = Field(
        description="Title of the story's earliest original article that has one (by publication date, then arrival)."
    )
    kind: Literal["multi_report", "single_report"] = Field(
        description="`multi_report`: at least two independently written articles (originals), "
        "usually several outlets; `single_report`: one original and any reprints or copies of it."
    )
    first_date: date = Field(
        description="Earliest publication date of its articles; the earliest ingest date only when none is dated."
    )
    last_date: date = Field(
        description="Latest publication date of its articles; the latest ingest date only when none is dated."
    )
    dates_from: Literal["published", "ingested"] = Field(
        description="Where `first_date` and `last_date` come from: `published` when at least one article is "
        "dated (undated articles are then left out of them), `ingested` when none is."
    )
    first_ingested_at: datetime
    last_ingested_at: datetime = Field(description="When the story last gained an article; the list's order.")
    article_count: int = Field(description="Stored articles of the story, reprints and copies included.")
    original_count: int = Field(description="Articles that are not reprints or copies of another.")
    source_count: int = Field(
        description="Distinct agencies or outlets named by its articles (`source`, case-insensitive); "
        "articles that name none add none."
    )
    top_entities: list[StoryEntity] = Field(description="Most mentioned entities, most first (at most 10).")


class StoryPage(BaseModel):
    items: list[StoryItem]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class StoryArticle(ArticleSummary):
    duplicate_of: str | None
    duplicate_kind: Literal["exact", "reprint"] | None


class EntityTimeline(BaseModel):
    id: str
    name: str
    type: EntityType
    per_day: list[DayCount] = Field(description="The story's original articles mentioning it per day, oldest first.")


class StoryDetail(StoryItem):
    articles: list[StoryArticle] = Field(
        description="The story's articles in time order (day, then arrival); at most 200, "
        "page through the rest with GET /articles?story=."
    )
    entity_timeline: list[EntityTimeline] = Field(description="Per-day article counts of the top 5 entities.")


class EntityFacetCount(BaseModel):
    id: str
    name: str = Field(description="Canonical name, as GET /entities lists it.")
    type: EntityType
    count: int = Field(description="Matching articles that name the entity (an article counts once).")
    margin: int | None = Field(
        default=None,
        description="Only when the facets were counted on a sample: the 95 % margin of `count`, in articles.",
    )


class ValueFacetCount(BaseModel):
    value: str = Field(description="An entity type, a source (one spelling stands for every case) or a story id.")
    count: int = Field(description="Matching articles with this value.")
    margin: int | None = Field(
        default=None,
        description="Only when the facets were counted on a sample: the 95 % margin of `count`, in articles.",
    )


class TimeFacetCount(BaseModel):
    value: str = Field(description="The bucket, UTC: a day as YYYY-MM-DD, an hour as YYYY-MM-DDTHH:00:00Z.")
    count: int = Field(description="Matching articles in the bucket.")
    undated_count: int = Field(
        description="Of these, articles without a publication date, counted by the time they were ingested."
    )
    margin: int | None = Field(
        default=None,
        description="Only when the facets were counted on a sample: the 95 % margin of `count`, in articles.",
    )


class FacetLists(BaseModel):
    """Only the facets asked for are present."""

    entity: list[EntityFacetCount] | None = None
    type: list[ValueFacetCount] | None = None
    source: list[ValueFacetCount] | None = None
    story: list[ValueFacetCount] | None = None
    day: list[TimeFacetCount] | None = None
    hour: list[TimeFacetCount] | None = None


class FacetSample(BaseModel):
    """Present when there were too many matches to count every one: the counts are estimates."""

    share: float = Field(description="The share of the matching articles counted (a fixed slice of article ids).")
    articles: int = Field(description="Matching articles in the sample: every count was scaled up from them.")
    total_margin: int = Field(description="The 95 % margin of `total`, in articles.")


class ArticleFacets(BaseModel):
    total: int = Field(description="Articles matching the filters (originals only unless include_duplicates).")
    sample: FacetSample | None = Field(
        default=None, description="Only when the counts were estimated from a sample (see `exact`)."
    )
    facets: FacetLists


class TimelineBucket(BaseModel):
    start: datetime = Field(description="The bucket's start, UTC (weeks start on Monday).")
    count: int
    undated_count: int = Field(
        description="Of these, articles without a publication date, counted by the time they were ingested."
    )
    split: dict[str, int] | None = Field(
        default=None,
        description="With `by`: each of `values`' articles in this bucket, by entity id or source, zeros included.",
    )


class ArticleTimeline(BaseModel):
    interval: Literal["hour", "day", "week"]
    by: Literal["entity", "source"] | None = None
    total: int = Field(description="Articles matching the filters (the sum of the buckets' counts).")
    values: list[EntityFacetCount] | list[ValueFacetCount] | None = Field(
        default=None, description="With `by`: the values the buckets are split by, most matching articles first."
    )
    buckets: list[TimelineBucket] = Field(description="Every bucket from the first to the last with an article.")


class NamedEntity(BaseModel):
    id: str
    name: str = Field(description="Canonical name, as GET /entities lists it.")
    type: EntityType


class RelatedEntityCount(NamedEntity):
    count: int = Field(description="Matching articles naming both this entity and the subject (|A and B|).")
    total: int = Field(description="Matching articles naming this entity (|B|).")
    lift: float = Field(
        description="count * N / (|A| * |B|): how many times more often the entity is named in the subject's "
        "articles than in the matching ones at large (1: as often; below 1: less). Six decimals."
    )
    npmi: float = Field(
        description="Normalised pointwise mutual information, log(lift) / -log(count / N): 1 when the two are "
        "only ever named together, 0 when independent, negative when they avoid each other. Six decimals."
    )
    margin: int | None = Field(
        default=None,
        description="Only when the answer was estimated from samples: the 95 % margin of `count`, in articles.",
    )
    total_margin: int | None = Field(
        default=None,
        description="Only when the answer was estimated from samples: the 95 % margin of `total`, in articles.",
    )


class RelatedSample(BaseModel):
    """Present when there were too many matches to count every one: the counts are estimates."""

    share: float = Field(
        description="The share of the subject's matching articles counted for `count` and each item's `count` "
        "(a fixed slice of article ids; 1: every one)."
    )
    articles: int = Field(description="The subject's matching articles in that slice.")
    count_margin: int = Field(description="The 95 % margin of `count`, in articles (0: counted exactly).")
    total_share: float = Field(
        description="The share of the matching articles counted for `total` and each item's `total` (1: every one)."
    )
    total_articles: int = Field(description="The matching articles in that slice.")
    total_margin: int = Field(description="The 95 % margin of `total`, in articles (0: counted exactly).")


class RelatedEntities(BaseModel):
    entity: NamedEntity = Field(description="The subject: the root of the group the path's key names.")
    total: int = Field(description="Articles matching the filters, N (originals only unless include_duplicates).")
    count: int = Field(description="Of these, articles naming the subject, |A|.")
    sample: RelatedSample | None = Field(
        default=None, description="Only when the counts were estimated from samples (see `exact`)."
    )
    related: list[RelatedEntityCount]
