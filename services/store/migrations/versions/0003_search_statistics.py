"""Full-text statistics target 10,000 -> 1,000: planning a search cost ~1.1 ms, now ~0.36 ms (100k articles).

The 10,000 target (0001) kept rare words estimated as rare, so the planner would not walk the
newest-first index for them. Searches no longer leave that choice to the planner (a bounded
walk, then the GIN index, whatever the estimate; see db.queries.articles), while every search paid for
reading 100,000 most-common lexemes at planning. At 1,000 the estimates of the 10,000 commonest
lexemes are the same as before (measured on the 100k-article bench database).

Revision ID: 0003_search_statistics
Revises: 0002_article_listings
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003_search_statistics"
down_revision: str | None = "0002_article_listings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE articles ALTER COLUMN search SET STATISTICS 1000")
    op.execute("ANALYZE articles")


def downgrade() -> None:
    op.execute("ALTER TABLE articles ALTER COLUMN search SET STATISTICS 10000")
    op.execute("ANALYZE articles")
