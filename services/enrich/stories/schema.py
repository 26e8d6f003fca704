"""The story index's tables, in Postgres schema ``enrich`` beside the reprint index.

- ``stories``: what assignment compares with: the centroids of each story's original articles
  (sums of their normalised text, lead and entity vectors, the heaviest ``STORY_TERMS`` /
  ``STORY_LEAD_TERMS`` / ``STORY_ENTITIES`` kept), the entities acting in it, and its time span (published dates of
  dated members; ingest times of all members). Labels, counts and top entities are not kept
  here: the store computes them from its articles, the one place that holds them.
- ``story_members``: the story of every article decided (reprints included).
- ``story_keys``: the inverted index from an article's salient terms and entities to the stories
  they were posted for, with the last time each was posted, so candidates are found among the
  recently active stories sharing a key whatever the number of stories.
- ``story_terms`` / ``story_documents``: document frequencies of terms over original articles,
  for IDF.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, REAL

from services.enrich.dedupe.schema import metadata

stories = Table(
    "stories",
    metadata,
    Column("story_id", Text, primary_key=True),
    Column("terms", ARRAY(BigInteger), nullable=False),
    Column("term_weights", ARRAY(REAL), nullable=False),
    Column("lead_terms", ARRAY(BigInteger), nullable=False, server_default="{}"),
    Column("lead_weights", ARRAY(REAL), nullable=False, server_default="{}"),
    Column("entity_ids", ARRAY(Text), nullable=False),
    Column("entity_weights", ARRAY(REAL), nullable=False),
    Column("actors", ARRAY(Text), nullable=False),
    Column("originals", Integer, nullable=False),
    Column("first_day", Date, nullable=True),
    Column("last_day", Date, nullable=True),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

story_members = Table(
    "story_members",
    metadata,
    Column("article_id", Text, primary_key=True),
    Column("story_id", Text, nullable=False),
    Index("ix_story_members_story", "story_id"),
)

story_keys = Table(
    "story_keys",
    metadata,
    Column("key", BigInteger, nullable=False),
    Column("story_id", Text, nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("key", "story_id", name="pk_story_keys"),
    Index("ix_story_keys_recent", "key", "last_seen"),
)

story_terms = Table(
    "story_terms",
    metadata,
    Column("term", BigInteger, primary_key=True),
    Column("df", Integer, nullable=False),
)

story_documents = Table(
    "story_documents",
    metadata,
    Column("id", SmallInteger, primary_key=True),
    Column("documents", BigInteger, nullable=False),
    CheckConstraint("id = 1", name="ck_story_documents_one_row"),
)
