"""The watch resources' request and response models, built from the same validated types as ``GET /articles``.

``WatchFilters`` is the one description of a watch's filters: the body of ``POST /watches`` and the
query of ``GET /stream`` both use it, and the matcher reads it (``services.store.watches.matching``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from services.api.params import (
    EntityKey,
    EntityTypeParam,
    SearchText,
    SourceName,
    StoryId,
    _not_blank,
    _printable,
)

# As GET /articles: at most this many entity or source values.
MAX_REPEATED_VALUES = 10
MAX_URL_CHARS = 2000


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    if not parts.hostname:
        raise ValueError("must name a host")
    if parts.username or parts.password:
        raise ValueError("must not carry a user name or password (the body is signed instead)")
    try:
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError as exc:
        raise ValueError("has an invalid port") from exc
    return value


WatchName = Annotated[
    str, StringConstraints(min_length=1, max_length=200), AfterValidator(_printable), AfterValidator(_not_blank)
]
WebhookUrl = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_URL_CHARS, strip_whitespace=True),
    AfterValidator(_printable),
    AfterValidator(_http_url),
]


class WatchFilters(BaseModel):
    """The filters of ``GET /articles`` that apply to one arriving article (no dates, sorting or paging)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    q: SearchText | None = Field(default=None, description="Web-search query over title and body.")
    entity: list[EntityKey] = Field(
        default_factory=list,
        max_length=MAX_REPEATED_VALUES,
        description="Entity ids, names or surface forms (any case), all of which must be mentioned.",
    )
    entity_type: EntityTypeParam | None = Field(
        default=None,
        alias="type",
        description="Only articles mentioning an entity of this type (with `entity`: only entities of this "
        "type match).",
    )
    source: list[SourceName] = Field(
        default_factory=list, max_length=MAX_REPEATED_VALUES, description="Agencies or outlets (any case), any of."
    )
    story: StoryId | None = Field(default=None, description="Only articles of this story.")
    include_duplicates: bool = Field(default=False, description="Match reprints and copies too.")


class WatchIn(WatchFilters):
    """``POST /watches`` and ``PUT /watches/{id}``."""

    name: WatchName
    breaking: bool = Field(default=False, description="Also receive `story.breaking` events.")
    webhook_url: WebhookUrl | None = Field(
        default=None,
        description="Where matches are POSTed (signed). Its host must be in NEWSFLOW_WEBHOOK_ALLOWED_HOSTS.",
    )


class DeliveryCounts(BaseModel):
    pending: int = Field(description="Matches waiting for (another) try.")
    delivered: int
    failed: int = Field(description="Matches given up after NEWSFLOW_WEBHOOK_MAX_ATTEMPTS tries.")
    last_error: str | None = Field(description="Why the latest failed or retried delivery failed.")
    last_error_at: datetime | None


class WatchOut(WatchIn):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    id: int
    secret: str = Field(description="The HMAC-SHA256 key of this watch's webhook signatures.")
    matches: int = Field(description="Articles and breaking stories this watch matched so far.")
    deliveries: DeliveryCounts | None = Field(description="Webhook deliveries; null without webhook_url.")
    created_at: datetime
    updated_at: datetime


class WatchPage(BaseModel):
    items: list[WatchOut]
