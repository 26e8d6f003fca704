"""The enrich service's own tables, in Postgres schema ``enrich`` (Alembic: services/enrich/migrations).

- ``articles``: every article enrich has decided on: its group's original (``root_id``), the
  kind, similarity and evidence of the link, the content shingles (for exact verification of
  later candidates), the content's normalised words (zlib-compressed, for noise-tolerant verification;
  NULL on rows indexed before they were kept: the event's body stands in) and the enriched event
  as first published (to republish a correction when a group gets an earlier original).
- ``anchors``: the inverted index from anchor shingle to articles. Postings stop being added
  once an anchor is in more than ``MAX_ANCHOR_POSTINGS`` articles (a stock phrase, not a
  passage, and then ignored), so a lookup costs the same at 100k articles as at 1k.
- ``paragraph_groups``: in how many distinct stories each paragraph occurs; paragraphs in several
  are boilerplate and are left out of comparisons.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

SCHEMA = "enrich"

metadata = MetaData(schema=SCHEMA)

articles = Table(
    "articles",
    metadata,
    Column("article_id", Text, primary_key=True),
    Column("root_id", Text, nullable=False),
    Column("kind", Text, nullable=True),
    Column("similarity", Float, nullable=True),
    Column("evidence", JSONB, nullable=True),
    Column("ingested_at", DateTime(timezone=True), nullable=False),
    Column("content_hash", Text, nullable=False),
    Column("shingles", ARRAY(Integer), nullable=False),
    Column("breaks", ARRAY(Integer), nullable=False),
    Column("paragraphs", ARRAY(BigInteger), nullable=False),
    Column("content_words", LargeBinary, nullable=True),
    Column("event", LargeBinary, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("kind IN ('exact', 'reprint')", name="ck_articles_kind"),
    Index("ix_articles_content_hash", "content_hash"),
    Index("ix_articles_root_id", "root_id"),
)

anchors = Table(
    "anchors",
    metadata,
    Column("hash", Integer, nullable=False),
    Column("article_id", Text, nullable=False),
    PrimaryKeyConstraint("hash", "article_id", name="pk_anchors"),
)

paragraph_groups = Table(
    "paragraph_groups",
    metadata,
    Column("hash", BigInteger, primary_key=True),
    Column("groups", Integer, nullable=False),
)
