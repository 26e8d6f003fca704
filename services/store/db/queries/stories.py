"""Read queries over stories: the filtered, keyset-paged listing, one story in full, and the biggest recent ones.

A story is the set of stored articles sharing a ``story_id`` (enrich assigns it; reprints carry
their original's). Nothing about a story is stored apart from its articles: every figure is
computed on read from ``articles`` and ``article_entities`` through ``ix_articles_story``, so it
can never disagree with the articles however many store writers run. Entity figures count
original articles only (a reprint repeats its original's mentions).

- Dates: a story's first and last day are its articles' publication dates when any of them has
  one; only a story with no dated article falls back to ingest dates (UTC), and ``dates_from``
  says which. An undated article ingested today does not make a 2024 story end today.
- Headline: the title of the earliest original (by publication date, then arrival) that has one.
- Sources: distinct non-empty ``source`` values, case-folded; an article naming no source adds none.
- A story of one original (with or without its copies) is a single report, not coverage by several
  outlets: listings show stories of at least ``min_originals`` originals, two by default.

An article's day elsewhere (filters, article order, timelines) is its publication date, or its
ingest date when undated, as in entity profiles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Date, cast, func, literal_column, select, text, tuple_

from services.store.db.models import (
    TEXT_SEARCH_CONFIG,
    article_entities,
    articles,
)
from services.store.db.queries import story_sql
from services.store.db.read_connection import ReadConnection

# Entities named in a story's label, and entities listed with each story.
LABEL_ENTITIES = 3
TOP_ENTITIES_MAX = 10
# Entities whose mentions per day a story's timeline charts.
TIMELINE_ENTITIES = 5
# Articles a story's detail lists; the rest page through GET /articles?story=.
STORY_ARTICLES_MAX = 200
# Originals (independently written reports) that make a story more than a single report.
MULTI_REPORT_ORIGINALS = 2

_CONFIG: ColumnElement[str] = literal_column(f"'{TEXT_SEARCH_CONFIG}'::regconfig")


@dataclass(frozen=True)
class StoryFilters:
    """What an analyst asked for; ``entity_ids`` holds one group of ids per ``entity`` value (AND of ORs)."""

    q: str | None = None
    entity_ids: Sequence[Sequence[str]] = ()
    since: date | None = None
    until: date | None = None
    min_originals: int = MULTI_REPORT_ORIGINALS


DatesFrom = Literal["published", "ingested"]
StoryKind = Literal["multi_report", "single_report"]


@dataclass
class StorySummary:
    """A story's figures: counts, dates, headline and its most mentioned entities (most first)."""

    story_id: str
    article_count: int
    original_count: int
    source_count: int
    first_day: date
    last_day: date
    dates_from: DatesFrom
    first_ingested_at: datetime
    last_ingested_at: datetime
    headline: str | None
    top_entities: list[dict[str, Any]]

    @property
    def kind(self) -> StoryKind:
        """Several independently written reports, or one report (and any copies of it)."""
        return "multi_report" if self.original_count >= MULTI_REPORT_ORIGINALS else "single_report"

    @property
    def label(self) -> str:
        """The headline, else the most salient entities' names: what a list of stories shows."""
        if self.headline:
            return self.headline
        names = [row["name"] for row in self.top_entities[:LABEL_ENTITIES]]
        return " · ".join(names) if names else f"Story {self.story_id}"


@dataclass
class StoryRecord:
    """One story in full: its summary, its articles in time order and its top entities' days."""

    summary: StorySummary
    articles: list[dict[str, Any]]
    timeline: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


async def summaries(conn: ReadConnection, story_ids: Sequence[str]) -> dict[str, StorySummary]:
    """The figures of each story named that has articles (three grouped reads through ix_articles_story)."""
    if not story_ids:
        return {}
    params = {"story_ids": list(story_ids)}
    headlines = {row["story_id"]: row["title"] for row in (await conn.execute(story_sql.HEADLINES, params)).mappings()}
    top: dict[str, list[dict[str, Any]]] = {}
    for row in (await conn.execute(story_sql.TOP_ENTITIES, {**params, "limit": TOP_ENTITIES_MAX})).mappings():
        top.setdefault(row["story_id"], []).append(row)
    return {
        row["story_id"]: StorySummary(
            story_id=row["story_id"],
            article_count=row["article_count"],
            original_count=row["original_count"],
            source_count=row["source_count"],
            first_day=row["first_day"],
            last_day=row["last_day"],
            dates_from="published" if row["dated_count"] else "ingested",
            first_ingested_at=row["first_ingested_at"],
            last_ingested_at=row["last_ingested_at"],
            headline=headlines.get(row["story_id"]),
            top_entities=top.get(row["story_id"], []),
        )
        for row in (await conn.execute(story_sql.AGGREGATES, params)).mappings()
    }


def _conditions(filters: StoryFilters) -> list[ColumnElement[bool]]:
    """Each filter keeps whole stories: those with at least one article that matches it."""
    a = articles.c
    member = articles.alias("member")
    m = member.c
    conditions: list[ColumnElement[bool]] = [a.story_id.is_not(None)]
    if filters.q is not None:
        matching = m.search.bool_op("@@")(func.websearch_to_tsquery(_CONFIG, filters.q))
        conditions.append(a.story_id.in_(select(m.story_id).where(matching)))
    for ids in filters.entity_ids:
        link = article_entities.c
        mentioning = select(m.story_id).join(member, m.article_id == link.article_id).where(link.entity_id.in_(ids))
        conditions.append(a.story_id.in_(mentioning))
    if filters.since is not None or filters.until is not None:
        day = func.coalesce(m.published_at, cast(func.timezone("UTC", m.ingested_at), Date))
        dated: list[ColumnElement[bool]] = [m.story_id.is_not(None)]
        if filters.since is not None:
            dated.append(day >= filters.since)
        if filters.until is not None:
            dated.append(day <= filters.until)
        conditions.append(a.story_id.in_(select(m.story_id).where(*dated)))
    return conditions


async def list_stories(
    conn: ReadConnection,
    filters: StoryFilters,
    *,
    limit: int,
    after: tuple[datetime, str] | None = None,
) -> list[StorySummary]:
    """Up to ``limit`` stories, the latest to gain an article first, after the keyset position ``after``.

    ``after`` is (the last listed story's ``last_ingested_at``, its id): a story that gains an article
    while someone pages moves to the top, so it is never listed twice on later pages.
    """
    if any(not ids for ids in filters.entity_ids):
        return []  # an entity nobody mentions: no story can mention all of them
    if await _walk_pays(conn, filters):
        walked = await _walk_newest_stories(conn, filters, limit=limit, after=after)
        if walked is not None:
            found = await summaries(conn, walked)
            return [found[story_id] for story_id in walked if story_id in found]
    a = articles.c
    last = func.max(a.ingested_at)
    query = select(a.story_id).where(*_conditions(filters)).group_by(a.story_id)
    if filters.min_originals > 1:
        originals = func.count().filter(a.duplicate_of.is_(None))
        query = query.having(originals >= filters.min_originals)
    if after is not None:
        query = query.having(tuple_(last, a.story_id) < tuple_(after[0], after[1]))
    query = query.order_by(last.desc(), a.story_id.desc()).limit(limit)
    ids = (await conn.execute(query)).scalars()
    found = await summaries(conn, ids)
    return [found[story_id] for story_id in ids if story_id in found]


# --- stories of a common entity: walking the newest articles --------------------------------------
# The listing above joins every article of every story that matches, then sorts the stories: for an
# entity named in 10,000 articles that is tens of thousands of rows for one page (280-460 ms on 100k
# articles; 5 s when the planner chose a nested loop over a hashed subplan). But a story's position
# in the listing is its newest article's, so walking articles newest first meets stories in listing
# order: a page needs only the first few hundred articles. Used when every filter is an entity and
# each names at least WALK_MIN_ARTICLES articles (a rare entity's stories are few and cheap to sort).
WALK_MIN_ARTICLES = 1_000
_WALK_CHUNK_ARTICLES = 500
# A common entity whose stories are all old makes the walk long: past this many articles the
# listing above is cheaper again, and is used instead.
_WALK_MAX_ARTICLES = 20_000

_WALK_FROM = """
    SELECT a.article_id, a.story_id, a.ingested_at FROM articles a
    WHERE a.story_id IS NOT NULL AND {position}
    ORDER BY a.ingested_at DESC, a.article_id DESC
    LIMIT :limit
"""
# The first chunk starts at a time (inclusive); the next ones after the last article walked.
_WALK_FIRST = text(_WALK_FROM.format(position="a.ingested_at <= :at"))
_WALK_NEXT = text(_WALK_FROM.format(position="(a.ingested_at, a.article_id) < (:at, :article_id)"))
_STORY_LAST = text(
    """
    SELECT a.story_id, max(a.ingested_at) AS last_ingested_at FROM articles a
    WHERE a.story_id = ANY(CAST(:story_ids AS text[])) GROUP BY a.story_id
    """
)
_STORIES_NAMING = text(
    """
    SELECT DISTINCT a.story_id FROM articles a
    JOIN article_entities ae ON ae.article_id = a.article_id
    WHERE a.story_id = ANY(CAST(:story_ids AS text[])) AND ae.entity_id = ANY(CAST(:entity_ids AS text[]))
    """
)
_STORIES_WITH_ORIGINALS = text(
    """
    SELECT a.story_id FROM articles a
    WHERE a.story_id = ANY(CAST(:story_ids AS text[])) AND a.duplicate_of IS NULL
    GROUP BY a.story_id HAVING count(*) >= :min_originals
    """
)
_ENTITY_ARTICLES = text("SELECT coalesce(sum(article_count), 0) FROM entities WHERE id = ANY(CAST(:ids AS text[]))")


async def _walk_pays(conn: ReadConnection, filters: StoryFilters) -> bool:
    if not filters.entity_ids or filters.q is not None or filters.since is not None or filters.until is not None:
        return False
    for ids in filters.entity_ids:
        if ((await conn.execute(_ENTITY_ARTICLES, {"ids": list(ids)})).scalar() or 0) < WALK_MIN_ARTICLES:
            return False
    return True


async def _walk_newest_stories(
    conn: ReadConnection, filters: StoryFilters, *, limit: int, after: tuple[datetime, str] | None
) -> list[str] | None:
    """The ids of the page's stories, in listing order; None when the walk grew too long to pay.

    Walking articles newest first, a story not met yet has no article newer than the walk's frontier,
    so every matching story met whose newest article is later than the frontier is in its final place.
    """
    found: dict[str, datetime] = {}
    seen: set[str] = set()
    position: tuple[datetime, str | None] = (after[0] if after else datetime.max.replace(tzinfo=UTC), None)
    walked = 0
    while walked < _WALK_MAX_ARTICLES:
        at, article = position
        statement = _WALK_FIRST if article is None else _WALK_NEXT
        rows = (await conn.execute(statement, {"at": at, "article_id": article, "limit": _WALK_CHUNK_ARTICLES})).all()
        walked += len(rows)
        met = list(dict.fromkeys(row.story_id for row in rows if row.story_id not in seen))
        seen.update(met)
        if met:
            last: dict[str, datetime] = {row[0]: row[1] for row in await conn.execute(_STORY_LAST, {"story_ids": met})}
            # A story whose newest article is at or above the cursor was on an earlier page.
            candidates = [s for s in met if after is None or (last[s], s) < after]
            named = await _naming_every_entity(conn, candidates, filters.entity_ids)
            for story in await _with_originals(conn, named, filters):
                found[story] = last[story]
        ordered = sorted(found, key=lambda story: (found[story], story), reverse=True)
        if len(rows) < _WALK_CHUNK_ARTICLES:
            return ordered[:limit]  # every article walked
        position = (rows[-1].ingested_at, rows[-1].article_id)
        final = [story for story in ordered if found[story] > position[0]]
        if len(final) >= limit:
            return final[:limit]
    return None


async def _with_originals(conn: ReadConnection, story_ids: list[str], filters: StoryFilters) -> list[str]:
    """The stories among ``story_ids`` with at least ``filters.min_originals`` originals, as the listing keeps."""
    if filters.min_originals <= 1 or not story_ids:
        return story_ids
    params = {"story_ids": story_ids, "min_originals": filters.min_originals}
    kept = set((await conn.execute(_STORIES_WITH_ORIGINALS, params)).scalars())
    return [story for story in story_ids if story in kept]


async def _naming_every_entity(
    conn: ReadConnection, story_ids: list[str], groups: Sequence[Sequence[str]]
) -> list[str]:
    """The stories among ``story_ids`` with an article naming each group's entities (any one of a group)."""
    remaining = story_ids
    for ids in groups:
        if not remaining:
            break
        named = set((await conn.execute(_STORIES_NAMING, {"story_ids": remaining, "entity_ids": list(ids)})).scalars())
        remaining = [story for story in remaining if story in named]
    return remaining


async def get_story(conn: ReadConnection, story_id: str) -> StoryRecord | None:
    summary = (await summaries(conn, [story_id])).get(story_id)
    if summary is None:
        return None
    members = (await conn.execute(story_sql.ARTICLES, {"story_id": story_id, "limit": STORY_ARTICLES_MAX})).mappings()
    charted = [row["id"] for row in summary.top_entities[:TIMELINE_ENTITIES]]
    timeline: dict[str, list[dict[str, Any]]] = {entity_id: [] for entity_id in charted}
    if charted:
        for row in (await conn.execute(story_sql.TIMELINE, {"story_id": story_id, "entity_ids": charted})).mappings():
            timeline[row["entity_id"]].append(row)
    return StoryRecord(summary=summary, articles=members, timeline=timeline)


@dataclass
class RecentStory:
    summary: StorySummary
    recent_articles: int


async def top_stories(
    conn: ReadConnection, since: datetime, limit: int, min_originals: int = MULTI_REPORT_ORIGINALS
) -> list[RecentStory]:
    """The stories (of at least ``min_originals`` originals) with the most articles ingested since ``since``."""
    params = {"since": since, "limit": limit, "min_originals": min_originals}
    rows: list[Any] = (await conn.execute(story_sql.BIGGEST_SINCE, params)).mappings()
    found = await summaries(conn, [row["story_id"] for row in rows])
    return [
        RecentStory(summary=found[row["story_id"]], recent_articles=row["recent_articles"])
        for row in rows
        if row["story_id"] in found
    ]
