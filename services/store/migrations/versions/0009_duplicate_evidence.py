"""Articles keep the evidence of their reprint link (what matched, against which article).

A link made on noisy text (a scanned copy, a light rewrite) is only as good as what matched, so
``GET /articles/{id}`` shows it: the method (identical text, shared passages or noisy text), the
group member compared, and the overlaps and confidence measured. NULL for originals and for links
stored before this revision.

Revision ID: 0009_duplicate_evidence
Revises: 0008_long_article_search
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009_duplicate_evidence"
down_revision: str | None = "0008_long_article_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE articles ADD COLUMN duplicate_evidence jsonb")


def downgrade() -> None:
    op.execute("ALTER TABLE articles DROP COLUMN duplicate_evidence")
