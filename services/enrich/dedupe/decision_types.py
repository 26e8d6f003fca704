"""What the reprint decision takes and returns: one article to decide on, a batch's links, a copy preview.

Shared by ``detector`` (the locked decision's entry point) and ``batch_decision`` (its work).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from services.enrich.dedupe.fingerprint import TextFingerprint
from services.enrich.dedupe.index import Regrouped
from shared.events import DuplicateLink


class _Ordered(Protocol):
    @property
    def ingested_at(self) -> datetime: ...
    @property
    def article_id(self) -> str: ...


def decision_order(article: _Ordered) -> tuple[datetime, str]:
    """The order a batch's articles are decided in: earliest ingested first, then by id."""
    return (article.ingested_at, article.article_id)


@dataclass(frozen=True)
class DedupeItem:
    """One article to decide on."""

    article_id: str
    ingested_at: datetime
    text: TextFingerprint
    # The enriched event as published (stored for corrections); a preview needs none.
    event: bytes = b""


@dataclass
class DedupeResult:
    """Links for the batch, and earlier articles whose link changed."""

    links: dict[str, DuplicateLink | None]
    corrections: list[Regrouped] = field(default_factory=list)
    # The batch's articles the index did not hold yet (not a redelivery, replay or re-ingest).
    new: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CopyPreview:
    """Which articles of a batch copy an article already tagged, looked up before tagging.

    ``sources`` maps a copy (exact duplicate, reprint, or a redelivered article already indexed)
    to the article whose entities it can take: an indexed one (its event is in ``stored_events``)
    or one earlier in the batch (by ingest time, then id: the order decisions are taken in).
    """

    sources: dict[str, str]
    stored_events: dict[str, bytes]
