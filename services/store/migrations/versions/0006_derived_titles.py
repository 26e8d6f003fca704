"""Articles whose file gives no headline get one derived from their body, kept apart from the file's own.

``articles.derived_title`` holds the first sentence of the body, trimmed to a headline's length
(``shared.titles.derive_title``), for every article without a title; it is NULL when the file had
one. The read API shows ``coalesce(derived_title, title)`` as ``title`` with ``title_derived``.
The ``title`` column (and with it the search vector's headline weight and story headlines) keeps
only what the source wrote. Articles stored before are derived here, in batches, with the
function as it is when the migration runs.

Revision ID: 0006_derived_titles
Revises: 0005_article_entity_ids
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import sqlalchemy as sa
from alembic import op

from shared.titles import derive_title

revision: str = "0006_derived_titles"
down_revision: str | None = "0005_article_entity_ids"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH_ROWS: Final = 1000
_UNTITLED_AFTER = sa.text(
    "SELECT article_id, body FROM articles "
    "WHERE (title IS NULL OR btrim(title) = '') AND article_id > :after "
    "ORDER BY article_id LIMIT :limit"
)
_SET_DERIVED = sa.text("UPDATE articles SET derived_title = :derived WHERE article_id = :article_id")


def upgrade() -> None:
    op.execute("ALTER TABLE articles ADD COLUMN derived_title text")
    conn = op.get_bind()
    after = ""
    while True:
        rows = conn.execute(_UNTITLED_AFTER, {"after": after, "limit": _BATCH_ROWS}).all()
        if not rows:
            break
        conn.execute(_SET_DERIVED, [{"article_id": row[0], "derived": derive_title(row[1])} for row in rows])
        after = rows[-1][0]


def downgrade() -> None:
    op.execute("ALTER TABLE articles DROP COLUMN derived_title")
