"""Articles listed by source (``GET /articles?sort=-source``) read an index in that order.

The key is the source in lower case, an article without one as the empty source (listed last):
``coalesce(lower(source), '')``, then the article id for a stable keyset.

Revision ID: 0012_source_sort
Revises: 0011_entities_complete
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012_source_sort"
down_revision: str | None = "0011_entities_complete"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_articles_source_order ON articles ((coalesce(lower(source), '')), article_id)")


def downgrade() -> None:
    op.execute("DROP INDEX ix_articles_source_order")
