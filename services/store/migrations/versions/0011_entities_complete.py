"""Articles say whether their entities are complete: a long article is stored before it is tagged in full.

Enrich publishes an article longer than ``entity_head_chars`` with its head's entities at once and
republishes it with all of them when its deferred tagging is done (services/enrich/deferred.py).
Until then ``entities_complete`` is false and ``GET /articles/{id}`` says so. Rows stored before
this revision were tagged in full: the default is true (no table rewrite: a constant default).

Revision ID: 0011_entities_complete
Revises: 0010_watches
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011_entities_complete"
down_revision: str | None = "0010_watches"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE articles ADD COLUMN entities_complete boolean NOT NULL DEFAULT true")


def downgrade() -> None:
    op.execute("ALTER TABLE articles DROP COLUMN entities_complete")
