"""The store's schema as SQLAlchemy 2.x models: articles, entities, their links, listings, and dead letters.

This is the description the queries are written against and that Alembic compares with; the
database itself is only ever changed by the revisions in ``services/store/migrations/versions``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSON, JSONB, TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Text search configuration for the full-text column and every query against it (they must match).
TEXT_SEARCH_CONFIG = "english"

# Title words weigh more than body words in relevance ranking ('A' > 'B'). The function (migration
# 0006) is setweight(to_tsvector(title), 'A') || setweight(to_tsvector(body), 'B') in the
# TEXT_SEARCH_CONFIG, except that a body too long for a tsvector (over 1 MB of lexemes) is indexed
# as far as it fits instead of failing the insert.
SEARCH_VECTOR_SQL = "newsflow_search_vector(title, body)"


def shown_title_sql(alias: str) -> str:
    """The title the API shows: the file's headline, else the one derived from the body."""
    return f"coalesce({alias}.derived_title, {alias}.title)"


def title_derived_sql(alias: str) -> str:
    """Whether the title shown was derived from the body (the API's ``title_derived``)."""
    return f"({alias}.derived_title IS NOT NULL)"


# Undated articles sort last in both directions of the published_at sorts; the keyset indexes
# are on these expressions so the sort and the cursor comparison use the same key.
PUBLISHED_DESC_KEY_SQL = "coalesce(published_at, '-infinity'::date)"
PUBLISHED_ASC_KEY_SQL = "coalesce(published_at, 'infinity'::date)"
# The listing's source order: lower case, an article without a source as the empty one.
SOURCE_KEY_SQL = "coalesce(lower(source), '')"

# An entity's searchable words (migration 0006 defines the immutable function) and the last word
# of its name, lower case (a person's surname: the key "Trump" is resolved by).
ENTITY_WORDS_SQL = "entity_words(name, aliases)"
LAST_WORD_SQL = "lower(regexp_replace(name, '^.*\\s', ''))"


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Article(Base):
    """One article: identity, cleaned text, metadata from ingest, and enrich's reprint link."""

    __tablename__ = "articles"

    article_id: Mapped[str] = mapped_column(Text, primary_key=True)
    source_file: Mapped[str] = mapped_column(Text)
    part: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    sha256: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(Text)
    encoding: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    # The headline derived from the body when the file has none (shared/titles.py, migration 0006);
    # the API shows it as the title, flagged ``title_derived``. Not in the search vector's title weight.
    derived_title: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    boilerplate: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    published_at: Mapped[date | None] = mapped_column(Date)
    dateline: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    byline: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    word_count: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ingested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    enriched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    duplicate_of: Mapped[str | None] = mapped_column(Text)
    duplicate_kind: Mapped[str | None] = mapped_column(Text)
    similarity: Mapped[float | None] = mapped_column(Float)
    # What matched (shared.events.LinkEvidence as JSON); NULL for originals and older links.
    duplicate_evidence: Mapped[dict[str, object] | None] = mapped_column(JSONB)
    content_hash: Mapped[str] = mapped_column(Text)
    story_id: Mapped[str | None] = mapped_column(Text)
    search: Mapped[str] = mapped_column(TSVECTOR, Computed(SEARCH_VECTOR_SQL, persisted=True))
    # The ids of the article's entities (article_entities, in order of appearance), written with
    # them: a search and an entity filter then meet in the GIN indexes (migration 0005).
    entity_ids: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    # False while a long article carries only its head's entities (enrich tags the rest later).
    entities_complete: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))

    __table_args__ = (
        CheckConstraint("duplicate_kind IN ('exact', 'reprint')", name="duplicate_kind"),
        CheckConstraint("(duplicate_of IS NULL) = (duplicate_kind IS NULL)", name="duplicate_link"),
        Index("ix_articles_search", "search", postgresql_using="gin"),
        Index("ix_articles_entity_ids", "entity_ids", postgresql_using="gin"),
        Index("ix_articles_ingested", "ingested_at", "article_id"),
        # The default listing (originals only, newest first) reads this small partial index.
        Index(
            "ix_articles_ingested_originals",
            "ingested_at",
            "article_id",
            postgresql_where=text("duplicate_of IS NULL"),
        ),
        Index("ix_articles_published_desc", text(PUBLISHED_DESC_KEY_SQL), "article_id"),
        Index("ix_articles_published_asc", text(PUBLISHED_ASC_KEY_SQL), "article_id"),
        Index("ix_articles_duplicate_of", "duplicate_of", postgresql_where=text("duplicate_of IS NOT NULL")),
        Index("ix_articles_story", "story_id", postgresql_where=text("story_id IS NOT NULL")),
        Index("ix_articles_source", text("lower(source)"), postgresql_where=text("source IS NOT NULL")),
        Index("ix_articles_source_order", text(SOURCE_KEY_SQL), "article_id"),
    )


class Entity(Base):
    """One named entity (a canonical name of one type) and every surface form it was seen under."""

    __tablename__ = "entities"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text)
    aliases: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    # Original articles mentioning the entity, kept by the writer in the same transaction as the
    # links, so listing by popularity is an index scan instead of a count over every link.
    article_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # The root entity this row is folded into across the archive ("Trump" into "Donald Trump",
    # the ORG "Tracey Emin" into the PERSON); NULL on a root (see db.entity_groups, migration 0006).
    canonical_id: Mapped[str | None] = mapped_column(Text)
    # On a root: its article_count plus those of the rows folded into it (what /entities lists).
    group_article_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # The words of the name and of every surface form, unstemmed: /entities?q= matches any of them.
    words: Mapped[str] = mapped_column(TSVECTOR, Computed(ENTITY_WORDS_SQL, persisted=True))

    __table_args__ = (
        Index("ix_entities_name_lower", text("lower(name) text_pattern_ops")),
        Index("ix_entities_popular", "article_count", "id"),
        Index("ix_entities_type_popular", "type", "article_count", "id"),
        Index("ix_entities_words", "words", postgresql_using="gin"),
        Index("ix_entities_canonical", "canonical_id", postgresql_where=text("canonical_id IS NOT NULL")),
        Index("ix_entities_person_last_word", text(LAST_WORD_SQL), postgresql_where=text("type = 'PERSON'")),
        Index("ix_entities_roots_popular", "group_article_count", "id", postgresql_where=text("canonical_id IS NULL")),
        Index(
            "ix_entities_roots_type_popular",
            "type",
            "group_article_count",
            "id",
            postgresql_where=text("canonical_id IS NULL"),
        ),
    )


class ArticleEntity(Base):
    """An entity as it occurs in one article: its surface forms there and how often."""

    __tablename__ = "article_entities"

    article_id: Mapped[str] = mapped_column(
        Text, ForeignKey("articles.article_id", ondelete="CASCADE"), primary_key=True
    )
    entity_id: Mapped[str] = mapped_column(Text, ForeignKey("entities.id", ondelete="CASCADE"), primary_key=True)
    # Copied from the entity so "articles mentioning any PERSON" needs no join.
    entity_type: Mapped[str] = mapped_column(Text)
    mentions: Mapped[list[str]] = mapped_column(ARRAY(Text))
    mention_count: Mapped[int] = mapped_column(Integer)
    # Whether the article is an original (not a reprint): entity counts and profiles count only
    # these, and the writer turns the links it deletes and inserts into exact count deltas.
    in_original: Mapped[bool] = mapped_column(Boolean)
    # Order of first appearance in the article, so entities are listed as the text reads.
    ordinal: Mapped[int] = mapped_column(Integer)
    # The article's ingest time, so an entity's articles are read newest first from one index.
    ingested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index(
            "ix_article_entities_entity_ingested_at",
            "entity_id",
            "ingested_at",
            "article_id",
            postgresql_include=["in_original"],
        ),
        Index("ix_article_entities_type", "entity_type", "article_id"),
    )


class ArticleListing(Base):
    """What every listing shows of an article beyond its own columns, rendered once by the writer.

    A page of 20 articles used to join ~400 entity rows and build their JSON on every request;
    this row holds that JSON already in the response's shape, and the body's plain opening. The
    writer replaces it in the same transaction as the article's links, so it is exact whenever
    they are (entity names and types never change once stored).
    """

    __tablename__ = "article_listings"

    article_id: Mapped[str] = mapped_column(
        Text, ForeignKey("articles.article_id", ondelete="CASCADE"), primary_key=True
    )
    # [{"id", "name", "type", "mentions", "count"}, ...] in order of appearance. json, not jsonb:
    # jsonb would reorder the keys of every object.
    entities: Mapped[object] = mapped_column(JSON)
    # The body's opening as the API shows it without a query (HTML-safe, cut at a word).
    opening: Mapped[str] = mapped_column(Text)


class DeadLetterRecord(Base):
    """A dead letter from ``news.dlq.v1``: what failed, where, and why (rejected files among them)."""

    __tablename__ = "dead_letters"

    # sha256 of the letter as published: a redelivered letter is the same row, a new failure of
    # the same file (a different failed_at) is a new one.
    letter_id: Mapped[str] = mapped_column(Text, primary_key=True)
    stage: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    source_file: Mapped[str | None] = mapped_column(Text)
    line: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(Text)
    article_id: Mapped[str | None] = mapped_column(Text)
    source_topic: Mapped[str | None] = mapped_column(Text)
    source_partition: Mapped[int | None] = mapped_column(Integer)
    source_offset: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[str | None] = mapped_column(Text)
    failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("ix_dead_letters_stage_failed", "stage", "failed_at"),
        Index("ix_dead_letters_source_file", "source_file", postgresql_where=text("source_file IS NOT NULL")),
    )


# Core handles on the tables, for the writer's upserts and the API's queries.
articles = cast(Table, Article.__table__)
entities = cast(Table, Entity.__table__)
article_entities = cast(Table, ArticleEntity.__table__)
article_listings = cast(Table, ArticleListing.__table__)
dead_letters = cast(Table, DeadLetterRecord.__table__)
