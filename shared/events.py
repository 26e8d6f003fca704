"""Versioned event schemas (pydantic v2) and the topics they travel on.

A topic's name carries its major version (``news.raw.v1``); within a version, fields are only
ever added with defaults, so an older consumer can read a newer producer's events. A breaking
change is a new topic (``news.raw.v2``) run side by side until consumers have moved.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

TOPIC_RAW = "news.raw.v1"
TOPIC_ENRICHED = "news.enriched.v1"
TOPIC_DLQ = "news.dlq.v1"
TOPIC_ALERTS = "news.alerts.v1"
# Long articles whose entities enrich tags after publishing them (see services/enrich/deferred.py).
TOPIC_DEFERRED_TAGGING = "news.entities.deferred.v1"
ALL_TOPICS = (TOPIC_RAW, TOPIC_ENRICHED, TOPIC_DLQ, TOPIC_ALERTS, TOPIC_DEFERRED_TAGGING)

EntityType = Literal["PERSON", "ORG", "LOCATION", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW"]
ENTITY_TYPES: tuple[EntityType, ...] = (
    "PERSON",
    "ORG",
    "LOCATION",
    "EVENT",
    "PRODUCT",
    "WORK_OF_ART",
    "LAW",
)
Stage = Literal["ingest", "enrich", "store"]
# How an article came to be published: dropped into the watched inbox (live), a one-shot
# `newsflow ingest PATH --once` (backfill) or `newsflow replay` of the archive (replay). Latency
# figures keep them apart: a replayed file's arrival may be days old.
Origin = Literal["live", "backfill", "replay"]
ORIGINS: tuple[Origin, ...] = ("live", "backfill", "replay")
DuplicateKind = Literal["exact", "reprint"]


def utcnow() -> datetime:
    """Timezone-aware now, the only kind of timestamp events carry."""
    return datetime.now(UTC)


class Event(BaseModel):
    """Base for every event: unknown fields are ignored so newer producers stay readable."""

    model_config = ConfigDict(extra="ignore")
    schema_version: Literal[1] = 1

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")


class RawArticle(Event):
    """One article read from one file (or one record of a JSON/JSONL file): ``news.raw.v1``."""

    article_id: str = Field(description="Stable id derived from source_file, sha256 and part.")
    source_file: str = Field(description="The dropped file's name, relative to the inbox.")
    part: int = Field(default=0, ge=0, description="Record index inside a multi-article file.")
    sha256: str = Field(description="sha256 of the file's bytes as dropped.")
    size_bytes: int = Field(ge=0)
    content_type: str = Field(description="text, html, json or jsonl (after any .gz).")
    encoding: str | None = None
    title: str | None = Field(default=None, description="The headline the file gives, if any.")
    derived_title: str | None = Field(
        default=None,
        description="When the file gives no headline: one derived from the body (its first sentence, "
        "trimmed; shared/titles.py). Not a headline the source wrote, so not used as one.",
    )
    body: str = Field(min_length=1, description="Cleaned article text, paragraphs split by blank lines.")
    boilerplate: list[str] = Field(default_factory=list, description="Text removed from the body.")
    published_at: date | None = None
    dateline: str | None = None
    source: str | None = Field(default=None, description="Agency or outlet credited.")
    byline: str | None = None
    url: str | None = None
    received_at: datetime = Field(description="When ingest first saw the file.")
    ingested_at: datetime = Field(description="When ingest published the event.")
    origin: Origin = Field(
        default="live",
        description="live (dropped into the watched inbox), backfill (ingest --once) or replay (newsflow replay).",
    )

    @field_validator("source_file")
    @classmethod
    def _inside_the_inbox(cls, value: str) -> str:
        # Anyone who can reach the broker can produce: a name that climbs out of the inbox is never
        # taken, so no consumer can ever be led to use it as a path (it is dead-lettered instead).
        if not value or value.startswith("/") or "\x00" in value or ".." in value.split("/"):
            raise ValueError("must be a file name relative to the inbox, without '..' parts or a leading '/'")
        return value


class EntityRef(BaseModel):
    """One entity as tagged in one article."""

    id: str = Field(description="Stable id of (type, canonical name), shared across articles.")
    name: str = Field(description="Canonical name, e.g. 'Imran Khan' for \"Khan's\".")
    type: EntityType
    mentions: list[str] = Field(description="Distinct surface forms, in order of appearance.")
    count: int = Field(ge=1, description="Number of mentions in the article.")


LinkMethod = Literal["identical_text", "shared_passages", "noisy_text"]


class LinkEvidence(BaseModel):
    """What matched between a copy and an article of its group: what a reader needs to judge a link."""

    method: LinkMethod = Field(
        description=(
            "identical_text: the same words (typography, case and layout aside); shared_passages: the "
            "copy's 5-word runs are found in the matched article in order, with only short gaps; "
            "noisy_text: the two texts' letters (spaces ignored) cover each other throughout, as a "
            "scanned (OCR) copy or a light rewrite does, judged by a calibrated model."
        )
    )
    matched_article: str = Field(
        description=(
            "article_id of the article this one was compared with: its group's original or another copy "
            "(when its group was merged into an earlier one and neither matches it directly: the copy "
            "through which the groups were joined)."
        )
    )
    passage_overlap: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="shared_passages: share of the copy's 5-word runs in the matched text.",
    )
    letter_overlap: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="noisy_text: share of each text's letters inside 6-letter runs the other has too (the lower).",
    )
    weakest_stretch: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="noisy_text: the same share in the least-matched 100-letter stretch (low means a passage differs).",
    )
    confidence: float | None = Field(
        default=None, ge=0.0, le=1.0, description="noisy_text: the model's probability that both are one article."
    )


class DuplicateLink(BaseModel):
    """Why an article is a copy of an earlier one."""

    duplicate_of: str = Field(description="article_id of the group's original (never a reprint).")
    kind: DuplicateKind
    similarity: float = Field(ge=0.0, le=1.0)
    evidence: LinkEvidence | None = Field(
        default=None, description="What matched (absent on links made before it was recorded)."
    )


class EnrichedArticle(Event):
    """A raw article with its entities and reprint link: ``news.enriched.v1``."""

    article: RawArticle
    entities: list[EntityRef] = Field(default_factory=list)
    duplicate: DuplicateLink | None = None
    content_hash: str = Field(description="sha256 of the normalised body text.")
    story_id: str | None = None
    enriched_at: datetime
    entities_complete: bool = Field(
        default=True,
        description="False while only the head of a long article is tagged: the rest is tagged later and "
        "the article republished with all its entities (absent on events from before: complete).",
    )


class DeferredTagging(Event):
    """A long article published with its head's entities, to tag in full later: ``news.entities.deferred.v1``.

    The article itself is read from enrich's index (its stored event), so the message stays small.
    """

    article_id: str
    source_file: str
    characters: int = Field(ge=0, description="Length of the article's body in characters.")
    requested_at: datetime = Field(default_factory=utcnow)


class DeadLetter(Event):
    """Something that could not be processed, kept with its reason: ``news.dlq.v1``."""

    stage: Stage
    reason: str = Field(description="Machine-readable reason code, e.g. 'binary', 'invalid_event'.")
    message: str = Field(description="A sentence a person understands, saying what to do.")
    source_file: str | None = None
    line: int | None = Field(default=None, description="Line number inside a JSON Lines file.")
    sha256: str | None = None
    article_id: str | None = None
    source_topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    key: str | None = None
    payload: str | None = Field(default=None, description="The failed message (UTF-8, truncated).")
    failed_at: datetime = Field(default_factory=utcnow)


class StoryBreaking(Event):
    """A story whose distinct sources grew past the threshold within the window: ``news.alerts.v1``."""

    kind: Literal["story.breaking"] = "story.breaking"
    story_id: str
    sources: list[str] = Field(description="The distinct sources (lower case) counted within the window.")
    article_count: int = Field(ge=1, description="The story's stored articles within the window.")
    window_seconds: float
    seq: int = Field(description="Its position in the store's feed (GET /stream's event id).")
    fired_at: datetime


EventT = TypeVar("EventT", bound=Event)
