"""Entities are grouped across the archive: a root entity and the rows folded into it; names searchable by word.

Enrich names an entity within one article, so the archive held "Trump" (an article that only
says "Trump") beside "Donald Trump", and "Tracey Emin" as a PERSON and as an ORG. The store now
folds such rows into one root (``canonical_id`` points at it; NULL on a root), decided from the
whole archive by ``services.store.db.entity_groups``; ``group_article_count`` is the root's
article count with its folded rows'. ``words`` holds the words of the name and every surface form
(``simple`` configuration: no stemming), so ``/entities?q=`` finds any word of a name or alias.
Existing archives are grouped here, once.

Revision ID: 0007_entity_groups
Revises: 0006_derived_titles
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007_entity_groups"
down_revision: str | None = "0006_derived_titles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE entities ADD COLUMN canonical_id text")
    op.execute("ALTER TABLE entities ADD COLUMN group_article_count integer NOT NULL DEFAULT 0")
    op.execute("UPDATE entities SET group_article_count = article_count")
    # array_to_string is only STABLE in general (element output functions); for text[] it is
    # immutable, which a generated column needs.
    op.execute(
        "CREATE FUNCTION entity_words(name text, aliases text[]) RETURNS tsvector "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE "
        "AS $$ SELECT to_tsvector('simple'::regconfig, name || ' ' || array_to_string(aliases, ' ')) $$"
    )
    op.execute(
        "ALTER TABLE entities ADD COLUMN words tsvector GENERATED ALWAYS AS (entity_words(name, aliases)) STORED"
    )
    op.execute("CREATE INDEX ix_entities_words ON entities USING gin (words)")
    op.execute("CREATE INDEX ix_entities_canonical ON entities (canonical_id) WHERE canonical_id IS NOT NULL")
    op.execute(
        "CREATE INDEX ix_entities_person_last_word ON entities "
        "(lower(regexp_replace(name, '^.*\\s', ''))) WHERE type = 'PERSON'"
    )
    op.execute(
        "CREATE INDEX ix_entities_roots_popular ON entities (group_article_count, id) WHERE canonical_id IS NULL"
    )
    op.execute(
        "CREATE INDEX ix_entities_roots_type_popular ON entities (type, group_article_count, id) "
        "WHERE canonical_id IS NULL"
    )
    from services.store.db.entity_groups import regroup_everything

    regroup_everything(op.get_bind())
    op.execute("ANALYZE entities")


def downgrade() -> None:
    for index in (
        "ix_entities_roots_type_popular",
        "ix_entities_roots_popular",
        "ix_entities_person_last_word",
        "ix_entities_canonical",
        "ix_entities_words",
    ):
        op.execute(f"DROP INDEX {index}")
    op.execute("ALTER TABLE entities DROP COLUMN words")
    op.execute("DROP FUNCTION entity_words(text, text[])")
    op.execute("ALTER TABLE entities DROP COLUMN group_article_count")
    op.execute("ALTER TABLE entities DROP COLUMN canonical_id")
