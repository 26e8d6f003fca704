"""enrich schema: the durable, shared reprint index

Revision ID: enrich_0001
Revises:
Create Date: 2025-02-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "enrich_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "enrich"


def upgrade() -> None:
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    op.create_table(
        "articles",
        sa.Column("article_id", sa.Text(), primary_key=True),
        sa.Column("root_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=True),
        sa.Column("similarity", sa.Float(), nullable=True),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("shingles", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column("breaks", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column("paragraphs", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("event", sa.LargeBinary(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("kind IN ('exact', 'reprint')", name="ck_articles_kind"),
        schema=SCHEMA,
    )
    op.create_index("ix_articles_content_hash", "articles", ["content_hash"], schema=SCHEMA)
    op.create_index("ix_articles_root_id", "articles", ["root_id"], schema=SCHEMA)
    op.create_table(
        "anchors",
        sa.Column("hash", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("hash", "article_id", name="pk_anchors"),
        schema=SCHEMA,
    )
    op.create_table(
        "paragraph_groups",
        sa.Column("hash", sa.BigInteger(), primary_key=True),
        sa.Column("groups", sa.Integer(), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("paragraph_groups", schema=SCHEMA)
    op.drop_table("anchors", schema=SCHEMA)
    op.drop_index("ix_articles_root_id", table_name="articles", schema=SCHEMA)
    op.drop_index("ix_articles_content_hash", table_name="articles", schema=SCHEMA)
    op.drop_table("articles", schema=SCHEMA)
    op.execute(f"DROP SCHEMA IF EXISTS {SCHEMA}")
