"""enrich schema: the durable story index (centroids, members, inverted index, document frequencies)

Revision ID: enrich_0002
Revises: enrich_0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "enrich_0002"
down_revision: str | None = "enrich_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "enrich"


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("story_id", sa.Text(), primary_key=True),
        sa.Column("terms", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("term_weights", postgresql.ARRAY(postgresql.REAL()), nullable=False),
        sa.Column("entity_ids", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("entity_weights", postgresql.ARRAY(postgresql.REAL()), nullable=False),
        sa.Column("actors", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("originals", sa.Integer(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=True),
        sa.Column("last_day", sa.Date(), nullable=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=SCHEMA,
    )
    op.create_table(
        "story_members",
        sa.Column("article_id", sa.Text(), primary_key=True),
        sa.Column("story_id", sa.Text(), nullable=False),
        schema=SCHEMA,
    )
    op.create_index("ix_story_members_story", "story_members", ["story_id"], schema=SCHEMA)
    op.create_table(
        "story_keys",
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("story_id", sa.Text(), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", "story_id", name="pk_story_keys"),
        schema=SCHEMA,
    )
    op.create_index("ix_story_keys_recent", "story_keys", ["key", "last_seen"], schema=SCHEMA)
    op.create_table(
        "story_terms",
        sa.Column("term", sa.BigInteger(), primary_key=True),
        sa.Column("df", sa.Integer(), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "story_documents",
        sa.Column("id", sa.SmallInteger(), primary_key=True),
        sa.Column("documents", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_story_documents_one_row"),
        schema=SCHEMA,
    )
    op.execute(f"INSERT INTO {SCHEMA}.story_documents (id, documents) VALUES (1, 0)")


def downgrade() -> None:
    op.drop_table("story_documents", schema=SCHEMA)
    op.drop_table("story_terms", schema=SCHEMA)
    op.drop_index("ix_story_keys_recent", table_name="story_keys", schema=SCHEMA)
    op.drop_table("story_keys", schema=SCHEMA)
    op.drop_index("ix_story_members_story", table_name="story_members", schema=SCHEMA)
    op.drop_table("story_members", schema=SCHEMA)
    op.drop_table("stories", schema=SCHEMA)
