"""The search vector is built by a function that never fails: an article of any length is stored.

Postgres refuses a tsvector over 1 MB ("string is too long for tsvector"). An ordinary article is
far below it, but a long one with many distinct words (a 2 MB single line of codes, a data dump)
is not, and its insert failed, so it was never stored. ``newsflow_search_vector`` indexes the
whole text when it fits, and otherwise the longest start of it that fits (halving until it
does). Texts up to 100,000 characters (at most ~6 bytes of tsvector a character, URLs being the
worst, so they always fit) take the plain path, with no exception block (so no subtransaction)
on the write path of ordinary articles.

The generated column cannot change its expression in place before Postgres 17, so it is dropped
and added again with its GIN index and statistics target (one rewrite of the articles table).

Revision ID: 0008_long_article_search
Revises: 0007_entity_groups
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008_long_article_search"
down_revision: str | None = "0007_entity_groups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies: a revision must not change when the models do.
_FUNCTION = """
CREATE OR REPLACE FUNCTION newsflow_search_vector(title text, body text) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    head tsvector := setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A');
    indexed integer := length(body);
BEGIN
    IF indexed <= 100000 THEN
        RETURN head || setweight(to_tsvector('english'::regconfig, body), 'B');
    END IF;
    LOOP
        BEGIN
            RETURN head || setweight(to_tsvector('english'::regconfig, left(body, indexed)), 'B');
        EXCEPTION WHEN program_limit_exceeded THEN
            indexed := indexed / 2;
        END;
    END LOOP;
END
$$
"""
_NEW_VECTOR = "newsflow_search_vector(title, body)"
_OLD_VECTOR = (
    "setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, body), 'B')"
)
_STATISTICS_TARGET = 1000


def _rebuild(expression: str) -> None:
    op.execute("DROP INDEX ix_articles_search")
    op.execute("ALTER TABLE articles DROP COLUMN search")
    op.execute(f"ALTER TABLE articles ADD COLUMN search tsvector NOT NULL GENERATED ALWAYS AS ({expression}) STORED")
    op.execute("CREATE INDEX ix_articles_search ON articles USING gin (search)")
    op.execute(f"ALTER TABLE articles ALTER COLUMN search SET STATISTICS {_STATISTICS_TARGET}")
    op.execute("ANALYZE articles")


def upgrade() -> None:
    op.execute(_FUNCTION)
    _rebuild(_NEW_VECTOR)


def downgrade() -> None:
    _rebuild(_OLD_VECTOR)
    op.execute("DROP FUNCTION newsflow_search_vector(text, text)")
