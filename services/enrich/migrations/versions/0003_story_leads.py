"""enrich schema: story lead centroids; term statistics restarted for stemmed terms

Story assignment compares two term sub-vectors now (the lead and the whole text) over stemmed
words, hashed under a new namespace. Terms counted before this revision are unstemmed keys no
article produces any more, so their document frequencies and the key postings are cleared (the
statistics restart from this revision on) and old stories stop being candidates for new
articles. Memberships stay: a reprint of an old article still takes its original's story.

Revision ID: enrich_0003
Revises: enrich_0002
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "enrich_0003"
down_revision: str | None = "enrich_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "enrich"


def upgrade() -> None:
    op.add_column(
        "stories",
        sa.Column("lead_terms", postgresql.ARRAY(sa.BigInteger()), nullable=False, server_default="{}"),
        schema=SCHEMA,
    )
    op.add_column(
        "stories",
        sa.Column("lead_weights", postgresql.ARRAY(postgresql.REAL()), nullable=False, server_default="{}"),
        schema=SCHEMA,
    )
    op.execute(f"TRUNCATE {SCHEMA}.story_keys, {SCHEMA}.story_terms")
    op.execute(f"UPDATE {SCHEMA}.story_documents SET documents = 0")
    op.execute(f"UPDATE {SCHEMA}.stories SET terms = '{{}}', term_weights = '{{}}'")


def downgrade() -> None:
    # The stemmed statistics mean nothing to the previous revision's code either: restart them.
    op.execute(f"TRUNCATE {SCHEMA}.story_keys, {SCHEMA}.story_terms")
    op.execute(f"UPDATE {SCHEMA}.story_documents SET documents = 0")
    op.execute(f"UPDATE {SCHEMA}.stories SET terms = '{{}}', term_weights = '{{}}'")
    op.drop_column("stories", "lead_weights", schema=SCHEMA)
    op.drop_column("stories", "lead_terms", schema=SCHEMA)
