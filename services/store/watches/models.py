"""The watch tables as SQLAlchemy models (migration 0010): what Alembic compares with and queries use.

Registered on the store's one ``Base`` so ``alembic`` sees every table of the store's schema.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from services.store.db.models import Base

# watch_feed.kind
ARTICLE = "article"
BREAKING = "story.breaking"
# watch_matches.delivery_state (NULL: the watch has no webhook; the match is only for the stream)
PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"


class Watch(Base):
    """A saved search: the filters of ``GET /articles``, and where to push its matches."""

    __tablename__ = "watches"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text)
    q: Mapped[str | None] = mapped_column(Text)
    entities: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    entity_type: Mapped[str | None] = mapped_column(Text)
    sources: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    story: Mapped[str | None] = mapped_column(Text)
    include_duplicates: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    breaking: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    webhook_url: Mapped[str | None] = mapped_column(Text)
    # The HMAC-SHA256 key of the watch's webhook signatures (X-Newsflow-Signature).
    secret: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class FeedEntry(Base):
    """A newly stored article or a breaking story, in commit order (``seq``: the stream's event id)."""

    __tablename__ = "watch_feed"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(Text)
    article_id: Mapped[str | None] = mapped_column(Text)
    story_id: Mapped[str | None] = mapped_column(Text)
    # The event's JSON as the stream and webhooks send it (an article as GET /articles lists it).
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # story.breaking: when it was published to news.alerts.v1 (NULL until then: the topic's outbox).
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("kind IN ('article', 'story.breaking')", name="kind"),
        Index(
            "ix_watch_feed_unpublished",
            "seq",
            postgresql_where=text("kind = 'story.breaking' AND published_at IS NULL"),
        ),
    )


class WatchMatch(Base):
    """One feed entry a watch matched; with a webhook, also its delivery (the outbox row)."""

    __tablename__ = "watch_matches"

    watch_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("watches.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, ForeignKey("watch_feed.seq", ondelete="CASCADE"), primary_key=True)
    matched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    delivery_state: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("delivery_state IN ('pending', 'delivered', 'failed')", name="delivery_state"),
        Index("ix_watch_matches_due", "next_attempt_at", "seq", postgresql_where=text("delivery_state = 'pending'")),
    )


class BreakingStory(Base):
    """A story that fired ``story.breaking`` (once: the primary key)."""

    __tablename__ = "breaking_stories"

    story_id: Mapped[str] = mapped_column(Text, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    sources: Mapped[int] = mapped_column(Integer)
    fired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
