"""enrich schema: link evidence and content words for noise-tolerant reprint verification

Revision ID: enrich_0004
Revises: enrich_0003
Create Date: 2026-12-07

Both columns are nullable: links decided before this revision have no recorded evidence, and
rows indexed before it have no content words (the detector derives them from the stored event).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "enrich_0004"
down_revision: str | None = "enrich_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "enrich"


def upgrade() -> None:
    op.add_column("articles", sa.Column("evidence", postgresql.JSONB(), nullable=True), schema=SCHEMA)
    op.add_column("articles", sa.Column("content_words", sa.LargeBinary(), nullable=True), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("articles", "content_words", schema=SCHEMA)
    op.drop_column("articles", "evidence", schema=SCHEMA)
