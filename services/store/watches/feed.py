"""Writing the feed in the store's transaction: each newly stored article once, the watches it matches, and
the stories that just became breaking.

Called by the article handler after ``upsert_articles``, inside the same transaction: an article is
in the feed, and its matches in the outbox, exactly when it is stored. A transaction-scoped
advisory lock makes feed rows commit in ``seq`` order, so a reader that has seen ``seq`` N has
seen every row below it (``GET /stream``'s resume point loses nothing).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection

from services.api.schemas import ArticleItem
from services.store.watches.matching import match_articles
from services.store.watches.models import ARTICLE, BREAKING, PENDING
from services.store.watches.schemas import WatchFilters
from shared.config import Settings
from shared.events import StoryBreaking, utcnow

log = logging.getLogger(__name__)

# pg_advisory_xact_lock key of the feed's writers ("nfw" + 1).
FEED_LOCK_KEY = 0x6E667701

# An article as GET /articles lists it without q: its columns, the stored opening and entity list.
_ITEMS_SQL = """
SELECT a.article_id, a.title, a.derived_title, a.source_file, a.source, a.published_at, a.ingested_at,
       a.duplicate_of, a.story_id, l.opening, l.entities,
       (SELECT count(*) FROM articles r WHERE r.duplicate_of = a.article_id) AS reprint_count
FROM articles a LEFT JOIN article_listings l ON l.article_id = a.article_id
WHERE a.article_id = ANY(%(ids)s)
"""
_INSERT_FEED_SQL = """
INSERT INTO watch_feed (kind, article_id, story_id, payload)
SELECT %(kind)s, f.article_id, f.story_id, f.payload
FROM unnest(CAST(%(ids)s AS text[]), CAST(%(stories)s AS text[]), CAST(%(payloads)s AS text[]))
     WITH ORDINALITY AS f(article_id, story_id, payload, n)
ORDER BY f.n
RETURNING seq, article_id
"""
_WATCHES_SQL = (
    "SELECT id, q, entities, entity_type, sources, story, include_duplicates, breaking, webhook_url FROM watches"
)
_INSERT_MATCHES_SQL = """
INSERT INTO watch_matches (watch_id, seq, delivery_state, next_attempt_at)
SELECT m.watch_id, m.seq, m.state, CASE WHEN m.state IS NULL THEN NULL ELSE now() END
FROM unnest(CAST(%(watch_ids)s AS bigint[]), CAST(%(seqs)s AS bigint[]), CAST(%(states)s AS text[]))
     AS m(watch_id, seq, state)
ON CONFLICT DO NOTHING
"""
# Stories of the batch not yet breaking whose distinct sources, among their articles ingested within
# the window that ends at their latest article, reached the threshold.
_BREAKING_SQL = """
WITH latest AS (
    SELECT a.story_id, max(a.ingested_at) AS at FROM articles a
    WHERE a.story_id = ANY(%(stories)s)
      AND NOT EXISTS (SELECT 1 FROM breaking_stories b WHERE b.story_id = a.story_id)
    GROUP BY a.story_id
)
SELECT l.story_id, array_agg(DISTINCT lower(a.source)) FILTER (WHERE a.source IS NOT NULL) AS sources,
       count(*) AS articles
FROM latest l JOIN articles a ON a.story_id = l.story_id AND a.ingested_at > l.at - make_interval(secs => %(window)s)
GROUP BY l.story_id
HAVING count(DISTINCT lower(a.source)) >= %(min_sources)s
ORDER BY l.story_id
"""


@dataclass
class _Watch:
    id: int
    filters: WatchFilters
    breaking: bool
    webhook: bool


@dataclass
class FeedResult:
    """What a batch added to the feed, for the metrics counted once the transaction committed."""

    articles: int = 0
    matches: Counter[int] = field(default_factory=Counter)
    breaking: list[StoryBreaking] = field(default_factory=list)


def record_new_articles(conn: Connection, article_ids: Sequence[str], settings: Settings) -> FeedResult:
    """Add the newly stored ``article_ids`` (in order) to the feed with their matches; fire breaking stories."""
    result = FeedResult()
    if not article_ids:
        return result
    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%(key)s)", {"key": FEED_LOCK_KEY})
    items = _items(conn, article_ids)
    ordered = [article_id for article_id in article_ids if article_id in items]
    rows = conn.exec_driver_sql(
        _INSERT_FEED_SQL,
        {
            "kind": ARTICLE,
            "ids": ordered,
            "stories": [items[article_id].story_id for article_id in ordered],
            "payloads": [items[article_id].model_dump_json() for article_id in ordered],
        },
    ).all()
    seq_of = {article_id: seq for seq, article_id in rows}
    result.articles = len(rows)
    watches = _watches(conn)
    matched = match_articles(conn, ordered, {watch.id: watch.filters for watch in watches.values()})
    _insert_matches(
        conn, watches, [(watch_id, seq_of[article_id]) for watch_id, hits in matched.items() for article_id in hits]
    )
    result.matches.update({watch_id: len(hits) for watch_id, hits in matched.items()})
    stories = sorted({item.story_id for item in items.values() if item.story_id is not None})
    for alert in _fire_breaking(conn, stories, settings):
        result.breaking.append(alert)
        takers = [watch_id for watch_id, watch in watches.items() if watch.breaking]
        _insert_matches(conn, watches, [(watch_id, alert.seq) for watch_id in takers])
        result.matches.update(takers)
    return result


def _items(conn: Connection, article_ids: Sequence[str]) -> dict[str, ArticleItem]:
    items = {}
    for row in conn.exec_driver_sql(_ITEMS_SQL, {"ids": list(article_ids)}).mappings():
        items[row["article_id"]] = ArticleItem(
            id=row["article_id"],
            title=row["derived_title"] if row["derived_title"] is not None else row["title"],
            title_derived=row["derived_title"] is not None,
            source_file=row["source_file"],
            source=row["source"],
            published_at=row["published_at"],
            ingested_at=row["ingested_at"],
            duplicate_of=row["duplicate_of"],
            story_id=row["story_id"],
            snippet=row["opening"] or "",
            reprint_count=row["reprint_count"],
            entities=_listed_entities(row["entities"]),
        )
    return items


def _listed_entities(value: Any) -> list[Any]:
    # article_listings.entities is json (already in ArticleEntity's shape); psycopg may hand it over as text.
    if value is None:
        return []
    return list(json.loads(value) if isinstance(value, str) else value)


def _watches(conn: Connection) -> dict[int, _Watch]:
    watches = {}
    for row in conn.exec_driver_sql(_WATCHES_SQL).mappings():
        try:
            filters = WatchFilters.model_validate(
                {
                    "q": row["q"],
                    "entity": row["entities"],
                    "type": row["entity_type"],
                    "source": row["sources"],
                    "story": row["story"],
                    "include_duplicates": row["include_duplicates"],
                }
            )
        except ValidationError as exc:
            # A watch saved under older rules: it matches nothing until changed, and never makes
            # the article handler fail (which would dead-letter the batch's articles).
            log.warning(
                "watch skipped: its filters no longer validate", extra={"watch_id": row["id"], "error": str(exc)}
            )
            continue
        watches[row["id"]] = _Watch(row["id"], filters, row["breaking"], row["webhook_url"] is not None)
    return watches


def _insert_matches(conn: Connection, watches: dict[int, _Watch], pairs: list[tuple[int, int]]) -> None:
    if not pairs:
        return
    conn.exec_driver_sql(
        _INSERT_MATCHES_SQL,
        {
            "watch_ids": [watch_id for watch_id, _ in pairs],
            "seqs": [seq for _, seq in pairs],
            "states": [PENDING if watches[watch_id].webhook else None for watch_id, _ in pairs],
        },
    )


def _fire_breaking(conn: Connection, stories: list[str], settings: Settings) -> list[StoryBreaking]:
    """Record each story of ``stories`` that is breaking now (once per story, ever) as a feed row."""
    if not stories:
        return []
    fired = []
    found = conn.exec_driver_sql(
        _BREAKING_SQL,
        {
            "stories": stories,
            "window": settings.breaking_window_seconds,
            "min_sources": settings.breaking_min_sources,
        },
    ).all()
    for story_id, sources, articles in found:
        seq = conn.exec_driver_sql("SELECT nextval(pg_get_serial_sequence('watch_feed', 'seq'))").scalar_one()
        alert = StoryBreaking(
            story_id=story_id,
            sources=sorted(sources),
            article_count=articles,
            window_seconds=settings.breaking_window_seconds,
            seq=seq,
            fired_at=utcnow(),
        )
        conn.exec_driver_sql(
            "INSERT INTO watch_feed (seq, kind, story_id, payload) VALUES (%(seq)s, %(kind)s, %(story)s, %(payload)s)",
            {"seq": seq, "kind": BREAKING, "story": story_id, "payload": alert.model_dump_json()},
        )
        conn.exec_driver_sql(
            "INSERT INTO breaking_stories (story_id, seq, sources) VALUES (%(story)s, %(seq)s, %(sources)s)",
            {"story": story_id, "seq": seq, "sources": len(sources)},
        )
        fired.append(alert)
    return fired
