"""The store's schema: articles (with full-text search), entities, their links, and dead letters.

Revision ID: 0001_store_schema
Revises:
Create Date: 2025-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_store_schema"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the expressions in models.py: a revision must not change when the models do.
_SEARCH_VECTOR = (
    "setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, body), 'B')"
)
_PUBLISHED_DESC_KEY = "coalesce(published_at, '-infinity'::date)"
_PUBLISHED_ASC_KEY = "coalesce(published_at, 'infinity'::date)"
_EMPTY_TEXT_ARRAY = sa.text("'{}'::text[]")


def upgrade() -> None:
    _articles()
    _entities()
    _article_entities()
    _dead_letters()


def _articles() -> None:
    op.create_table(
        "articles",
        sa.Column("article_id", sa.Text(), nullable=False),
        sa.Column("source_file", sa.Text(), nullable=False),
        sa.Column("part", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("encoding", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("boilerplate", postgresql.ARRAY(sa.Text()), server_default=_EMPTY_TEXT_ARRAY, nullable=False),
        sa.Column("published_at", sa.Date(), nullable=True),
        sa.Column("dateline", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("byline", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("word_count", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enriched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("duplicate_of", sa.Text(), nullable=True),
        sa.Column("duplicate_kind", sa.Text(), nullable=True),
        sa.Column("similarity", sa.Float(), nullable=True),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("story_id", sa.Text(), nullable=True),
        sa.Column("search", postgresql.TSVECTOR(), sa.Computed(_SEARCH_VECTOR, persisted=True), nullable=False),
        sa.CheckConstraint("duplicate_kind IN ('exact', 'reprint')", name=op.f("ck_articles_duplicate_kind")),
        sa.CheckConstraint(
            "(duplicate_of IS NULL) = (duplicate_kind IS NULL)", name=op.f("ck_articles_duplicate_link")
        ),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_articles")),
    )
    op.create_index("ix_articles_search", "articles", ["search"], postgresql_using="gin")
    # Rare words must be estimated as rare, or the planner walks the newest-first index filtering
    # every row for a word that occurs nowhere (measured: 0.4-1.7 s at 100k articles, 76 ms max
    # with this). The default target tracks too few lexemes for that.
    op.execute("ALTER TABLE articles ALTER COLUMN search SET STATISTICS 10000")
    op.create_index("ix_articles_ingested", "articles", ["ingested_at", "article_id"])
    op.create_index(
        "ix_articles_ingested_originals",
        "articles",
        ["ingested_at", "article_id"],
        postgresql_where=sa.text("duplicate_of IS NULL"),
    )
    op.create_index("ix_articles_published_desc", "articles", [sa.text(_PUBLISHED_DESC_KEY), "article_id"])
    op.create_index("ix_articles_published_asc", "articles", [sa.text(_PUBLISHED_ASC_KEY), "article_id"])
    op.create_index(
        "ix_articles_duplicate_of",
        "articles",
        ["duplicate_of"],
        postgresql_where=sa.text("duplicate_of IS NOT NULL"),
    )
    op.create_index("ix_articles_story", "articles", ["story_id"], postgresql_where=sa.text("story_id IS NOT NULL"))
    op.create_index(
        "ix_articles_source", "articles", [sa.text("lower(source)")], postgresql_where=sa.text("source IS NOT NULL")
    )


def _entities() -> None:
    op.create_table(
        "entities",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("aliases", postgresql.ARRAY(sa.Text()), server_default=_EMPTY_TEXT_ARRAY, nullable=False),
        sa.Column("article_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entities")),
    )
    op.create_index("ix_entities_name_lower", "entities", [sa.text("lower(name) text_pattern_ops")])
    op.create_index("ix_entities_popular", "entities", ["article_count", "id"])
    op.create_index("ix_entities_type_popular", "entities", ["type", "article_count", "id"])


def _article_entities() -> None:
    op.create_table(
        "article_entities",
        sa.Column("article_id", sa.Text(), nullable=False),
        sa.Column("entity_id", sa.Text(), nullable=False),
        sa.Column("entity_type", sa.Text(), nullable=False),
        sa.Column("mentions", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("mention_count", sa.Integer(), nullable=False),
        sa.Column("in_original", sa.Boolean(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.article_id"],
            name=op.f("fk_article_entities_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"], ["entities.id"], name=op.f("fk_article_entities_entity_id_entities"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("article_id", "entity_id", name=op.f("pk_article_entities")),
    )
    op.create_index(
        "ix_article_entities_entity",
        "article_entities",
        ["entity_id", "article_id"],
        postgresql_include=["in_original"],
    )
    op.create_index("ix_article_entities_type", "article_entities", ["entity_type", "article_id"])


def _dead_letters() -> None:
    op.create_table(
        "dead_letters",
        sa.Column("letter_id", sa.Text(), nullable=False),
        sa.Column("stage", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("source_file", sa.Text(), nullable=True),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.Text(), nullable=True),
        sa.Column("article_id", sa.Text(), nullable=True),
        sa.Column("source_topic", sa.Text(), nullable=True),
        sa.Column("source_partition", sa.Integer(), nullable=True),
        sa.Column("source_offset", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("letter_id", name=op.f("pk_dead_letters")),
    )
    op.create_index("ix_dead_letters_stage_failed", "dead_letters", ["stage", "failed_at"])
    op.create_index(
        "ix_dead_letters_source_file",
        "dead_letters",
        ["source_file"],
        postgresql_where=sa.text("source_file IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_table("dead_letters")
    op.drop_table("article_entities")
    op.drop_table("entities")
    op.drop_table("articles")
