"""Article listings: each article's entities as listing JSON and its plain opening, rendered at write time.

The read API's listing joined ~20 entity rows per article and built their JSON on every request
(about half of a page's SQL time on 100k articles); the writer now stores that JSON, and the
body's opening as the API shows it, in ``article_listings``. This revision creates the table and
fills it for the articles already stored.

Revision ID: 0002_article_listings
Revises: 0001_store_schema
Create Date: 2026-12-01
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_article_listings"
down_revision: str | None = "0001_store_schema"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKFILL_BATCH = 2000

# Frozen copy of services.store.snippets.opening as of this revision (a revision must not change
# when the code does): the start of a body, HTML-safe, cut at a word boundary when truncated.
_OPENING_MAX_CHARS = 280
_WHITESPACE = re.compile(r"\s+")


def _opening(body: str) -> str:
    raw = body[:_OPENING_MAX_CHARS]
    text = _WHITESPACE.sub(" ", raw.replace("\ue000", "").replace("\ue001", "")).strip()
    if len(raw) >= _OPENING_MAX_CHARS and " " in text:
        text = text.rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return html.escape(text, quote=False)


_BACKFILL_PAGE = sa.text(
    """
    SELECT a.article_id, left(a.body, :chars) AS head,
           coalesce((
               SELECT json_agg(json_build_object('id', e.id, 'name', e.name, 'type', e.type,
                                                 'mentions', ae.mentions, 'count', ae.mention_count)
                               ORDER BY ae.ordinal)
               FROM article_entities ae JOIN entities e ON e.id = ae.entity_id
               WHERE ae.article_id = a.article_id
           ), '[]'::json)::text AS entities
    FROM articles a
    WHERE a.article_id > :after
    ORDER BY a.article_id
    LIMIT :batch
    """
)
_BACKFILL_INSERT = sa.text(
    "INSERT INTO article_listings (article_id, entities, opening) "
    "VALUES (:article_id, CAST(:entities AS json), :opening)"
)


def upgrade() -> None:
    op.create_table(
        "article_listings",
        sa.Column("article_id", sa.Text(), nullable=False),
        sa.Column("entities", sa.JSON(), nullable=False),
        sa.Column("opening", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.article_id"],
            name=op.f("fk_article_listings_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_article_listings")),
    )
    conn = op.get_bind()
    after = ""
    while True:
        rows = conn.execute(_BACKFILL_PAGE, {"after": after, "batch": _BACKFILL_BATCH, "chars": _OPENING_MAX_CHARS})
        page = [
            {
                "article_id": row.article_id,
                # Compact, like the writer's: json_agg spaces and breaks its output.
                "entities": json.dumps(json.loads(row.entities), ensure_ascii=False, separators=(",", ":")),
                "opening": _opening(row.head),
            }
            for row in rows
        ]
        if not page:
            break
        conn.execute(_BACKFILL_INSERT, page)
        after = page[-1]["article_id"]


def downgrade() -> None:
    op.drop_table("article_listings")
