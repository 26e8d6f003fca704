"""The story queries' SQL texts: one story's figures, headline, top entities, articles, timeline, and
the biggest stories of the last hours (``queries.stories`` runs them)."""

from __future__ import annotations

from sqlalchemy import text

from services.store.db.models import shown_title_sql, title_derived_sql

DAY_SQL = "coalesce(a.published_at, (a.ingested_at AT TIME ZONE 'UTC')::date)"

AGGREGATES = text(
    """
    SELECT a.story_id,
           count(*) AS article_count,
           count(*) FILTER (WHERE a.duplicate_of IS NULL) AS original_count,
           count(DISTINCT lower(btrim(a.source))) FILTER (WHERE btrim(a.source) <> '') AS source_count,
           count(a.published_at) AS dated_count,
           coalesce(min(a.published_at), min((a.ingested_at AT TIME ZONE 'UTC')::date)) AS first_day,
           coalesce(max(a.published_at), max((a.ingested_at AT TIME ZONE 'UTC')::date)) AS last_day,
           min(a.ingested_at) AS first_ingested_at,
           max(a.ingested_at) AS last_ingested_at
    FROM articles a
    WHERE a.story_id = ANY(CAST(:story_ids AS text[]))
    GROUP BY a.story_id
    """
)

# The representative headline: the title of the story's earliest original that has one (dated
# originals by publication date first: an undated one is placed by its arrival, after them). A
# headline the source wrote wins over one derived from a body; a story whose originals have none
# takes the earliest derived one, so it is never shown without a headline.
HEADLINES = text(
    """
    SELECT DISTINCT ON (a.story_id) a.story_id, coalesce(nullif(btrim(a.title), ''), a.derived_title) AS title
    FROM articles a
    WHERE a.story_id = ANY(CAST(:story_ids AS text[]))
      AND a.duplicate_of IS NULL
      AND coalesce(nullif(btrim(a.title), ''), nullif(btrim(a.derived_title), '')) IS NOT NULL
    ORDER BY a.story_id, nullif(btrim(a.title), '') IS NULL, a.published_at NULLS LAST, a.ingested_at, a.article_id
    """
)

TOP_ENTITIES = text(
    """
    SELECT story_id, id, name, type, mention_count, article_count FROM (
        SELECT a.story_id, e.id, e.name, e.type,
               sum(ae.mention_count) AS mention_count, count(*) AS article_count,
               row_number() OVER (
                   PARTITION BY a.story_id ORDER BY sum(ae.mention_count) DESC, count(*) DESC, e.name, e.id
               ) AS rank
        FROM articles a
        JOIN article_entities ae ON ae.article_id = a.article_id
        JOIN entities e ON e.id = ae.entity_id
        WHERE a.story_id = ANY(CAST(:story_ids AS text[])) AND ae.in_original
        GROUP BY a.story_id, e.id, e.name, e.type
    ) AS ranked
    WHERE rank <= :limit
    ORDER BY story_id, rank
    """
)

ARTICLES = text(
    f"""
    SELECT a.article_id, {shown_title_sql("a")} AS title, {title_derived_sql("a")} AS title_derived,
           a.source_file, a.source, a.published_at, a.ingested_at, a.duplicate_of, a.duplicate_kind
    FROM articles a
    WHERE a.story_id = :story_id
    ORDER BY {DAY_SQL}, a.ingested_at, a.article_id
    LIMIT :limit
    """
)

TIMELINE = text(
    f"""
    SELECT ae.entity_id, {DAY_SQL} AS day, count(*) AS article_count
    FROM articles a JOIN article_entities ae ON ae.article_id = a.article_id
    WHERE a.story_id = :story_id AND ae.in_original AND ae.entity_id = ANY(CAST(:entity_ids AS text[]))
    GROUP BY ae.entity_id, day
    ORDER BY ae.entity_id, day
    """
)

BIGGEST_SINCE = text(
    """
    SELECT r.story_id, r.recent_articles
    FROM (
        SELECT a.story_id, count(*) AS recent_articles, max(a.ingested_at) AS last_ingested_at
        FROM articles a
        WHERE a.story_id IS NOT NULL AND a.ingested_at >= :since
        GROUP BY a.story_id
    ) AS r
    WHERE (
        SELECT count(*) FROM articles m WHERE m.story_id = r.story_id AND m.duplicate_of IS NULL
    ) >= :min_originals
    ORDER BY r.recent_articles DESC, r.last_ingested_at DESC, r.story_id
    LIMIT :limit
    """
)
