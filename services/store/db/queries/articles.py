"""Read queries over articles: the filtered, keyset-paged listing and the full record of one article.

Queries only: no formatting and no HTTP. Every value from a request reaches SQL as a bound
parameter; the only SQL text assembled here comes from constants in this package.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    RowMapping,
    func,
    literal_column,
    select,
)

from services.store.db.models import (
    PUBLISHED_ASC_KEY_SQL,
    PUBLISHED_DESC_KEY_SQL,
    TEXT_SEARCH_CONFIG,
    article_entities,
    articles,
    entities,
    shown_title_sql,
    title_derived_sql,
)
from services.store.db.queries.entities import ROOTS_OF_VALUES_SQL
from services.store.db.queries.ingest_window import HISTOGRAM
from services.store.db.queries.search_estimate import LEXEMES
from services.store.db.reader import AsyncConnection

ArticleSort = Literal["-ingested_at", "ingested_at", "-published_at", "published_at", "relevance"]

# A search snippet is looked for in at most this much of a body: a 10 MB file must not stall a page.
SNIPPET_SOURCE_MAX_CHARS = 20_000
# sort=relevance ranks the newest this-many matching articles, not every match: ts_rank reads each
# candidate's whole search vector, so ranking every match of a common word ("market": ~36k of 100k
# articles) took ~240 ms; the window bounds a page's cost whatever the word.
RELEVANCE_WINDOW = 500
# A search sorted by date first tests this many articles in sort order (the cheap plan for a
# common word); when they hold less than a page of matches, the page comes from the GIN index.
SEARCH_WALK_ROWS = 300
STORY_ARTICLES_MAX = 50

_CONFIG: ColumnElement[str] = literal_column(f"'{TEXT_SEARCH_CONFIG}'::regconfig")
_PUBLISHED_DESC_KEY: ColumnElement[date] = literal_column(PUBLISHED_DESC_KEY_SQL)
_PUBLISHED_ASC_KEY: ColumnElement[date] = literal_column(PUBLISHED_ASC_KEY_SQL)

# Each value's entity group (its root and the rows folded into it, see db.entity_groups), with
# each row's article count and the archive's size as the planner estimates it (pg_class: no count).
_RESOLVE_ENTITIES_SQL = (
    ROOTS_OF_VALUES_SQL
    + """
    SELECT t.n, m.id, m.article_count, archive.size
    FROM typed t
    JOIN entities m ON m.id = t.id OR m.canonical_id = t.id
    CROSS JOIN (SELECT greatest(reltuples, 0) AS size FROM pg_class WHERE oid = 'articles'::regclass) AS archive
"""
)


@dataclass(frozen=True)
class ArticleFilters:
    """What an analyst asked for; ``entity_ids`` holds one group of ids per ``entity`` value (AND of ORs)."""

    q: str | None = None
    entity_ids: Sequence[Sequence[str]] = ()
    entity_type: str | None = None
    sources: Sequence[str] = ()
    story: str | None = None
    since: date | None = None
    until: date | None = None
    # True: only articles with a publication date; False: only undated ones; None: both.
    dated: bool | None = None
    include_duplicates: bool = False
    # Original articles each entity group is known to appear in (entities.article_count), and the
    # archive's size as the planner sees it: they pick how the listing is driven (see list_articles).
    entity_counts: Sequence[int] = ()
    archive_estimate: float = 0.0


@dataclass
class ArticleRow:
    """One listed article as Postgres rendered it: JSON texts to splice into the page, and its keyset position.

    ``head`` is the item's own fields as a JSON object (``id`` to ``story_id``), ``entities`` its
    entity list as JSON, ``snippet`` the stored opening, or with ``q`` the body to highlight the
    words of ``tsquery`` in.
    """

    article_id: str
    sort_key: Any
    head: str
    snippet: str
    tsquery: str | None
    reprint_count: int
    entities: str
    # sort=relevance: the oldest (ingested_at, article_id) of the window ranked, kept in the cursor
    # so later pages rank the same window (plus any newer arrivals).
    window_floor: tuple[Any, str] | None = None
    # How many candidates the statement went through: with sort=relevance the matches its window
    # ranked (at most RELEVANCE_WINDOW), in a bounded link walk the links it read (at most the walk).
    examined: int | None = None


def resolve_entities(conn: Connection, values: Sequence[str], entity_type: str | None) -> list[list[str]]:
    """For each value (an entity id, name or surface form, any case), the ids of the entity group it names."""
    if not values:
        return []
    rows = conn.exec_driver_sql(_RESOLVE_ENTITIES_SQL, {"values": list(values), "type": entity_type})
    return _resolved(len(values), rows)[0]


async def resolve_entities_counted(
    conn: AsyncConnection, values: Sequence[str], entity_type: str | None
) -> tuple[list[list[str]], list[int], float]:
    """The ids each value names, how many original articles each group's entities appear in, and the archive's size."""
    if not values:
        return [], [], 0.0
    cursor = await conn.execute(
        _RESOLVE_ENTITIES_SQL.encode(), {"values": list(values), "type": entity_type}, prepare=True
    )
    return _resolved(len(values), await cursor.fetchall())


def _resolved(count: int, rows: Iterable[Any]) -> tuple[list[list[str]], list[int], float]:
    groups: list[list[str]] = [[] for _ in range(count)]
    counts = [0] * count
    archive = 0.0
    for position, entity_id, article_count, estimate in rows:
        groups[position - 1].append(entity_id)
        counts[position - 1] += article_count
        archive = float(estimate)
    return groups, counts, archive


# --- the listing ---------------------------------------------------------------------------------
# The listing's SQL is assembled from the constant fragments below, once per combination of the
# filters used (cached), and every request value is a bound parameter. Building it as a SQLAlchemy
# expression and compiling it cost more Python time per request (~5 ms, measured with py-spy on
# 100k articles) than Postgres took to run it.
_TSQUERY = f"websearch_to_tsquery('{TEXT_SEARCH_CONFIG}'::regconfig, %(q)s)"
# The listings take the query from an InitPlan, so the planner does not estimate how many articles
# match it: that estimate reads the search column's 10,000 most common lexemes from pg_statistic
# and took ~0.4 ms of the ~0.9 ms it spent planning a search page (100k articles), while the
# page's plan no longer depends on it (the SQL fixes the order; windows bound the work). With the
# default estimate the windowed page still ANDs the GIN and ingest-time indexes (80 bench words,
# windows of 2,000 / 10,000 / 30,000 articles, medians: 3.25 / 4.20 / 5.19 -> 2.60 / 3.70 / 4.96 ms).
# The relevance window's EXPLAIN and the bounded link walk ask for the estimate: they get the
# query as a constant. So does the date-sorted walk, which tests it on its bounded subquery
# (_WALK_PAGE_SQL) and is prepared: its plan is its shape's either way.
_SEARCH_CONDITION = f"a.search @@ (SELECT {_TSQUERY})"
_ESTIMATED_SEARCH_CONDITION = f"a.search @@ {_TSQUERY}"
_SORT_KEYS: dict[str, str] = {
    "-ingested_at": "a.ingested_at",
    "ingested_at": "a.ingested_at",
    "-published_at": PUBLISHED_DESC_KEY_SQL.replace("published_at", "a.published_at"),
    "published_at": PUBLISHED_ASC_KEY_SQL.replace("published_at", "a.published_at"),
    "relevance": f"ts_rank(a.search, {_TSQUERY})",
}
# Published keys travel as 'YYYY-MM-DD' or '±infinity' (Python dates have no infinity).
_KEYSET_VALUES: dict[str, str] = {
    "-ingested_at": "%(after_key)s",
    "ingested_at": "%(after_key)s",
    "-published_at": "CAST(%(after_key)s AS date)",
    "published_at": "CAST(%(after_key)s AS date)",
    # ts_rank is a real: a cursor's rank, printed as the shortest text that reads back as that
    # real, is compared as one (as a double it differs from the widened real, and skipped ties).
    "relevance": "CAST(%(after_key)s AS real)",
}
# The page's order again, over the page's columns (published keys are selected as the plain column:
# the ±infinity of the key cannot load into Python).
_PAGE_KEYS: dict[str, str] = {
    "-ingested_at": "page.sort_value",
    "ingested_at": "page.sort_value",
    "-published_at": "coalesce(page.published_at, '-infinity'::date)",
    "published_at": "coalesce(page.published_at, 'infinity'::date)",
    "relevance": "page.sort_value",
}
# ingested_at as the response models print it (pydantic: UTC as "Z", fractional seconds only when
# there are some), so the JSON Postgres builds reads exactly like the models' JSON.
_INGESTED_AT_JSON = (
    "to_char(articles.ingested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
    "CASE WHEN date_trunc('second', articles.ingested_at) = articles.ingested_at THEN '' "
    "ELSE to_char(articles.ingested_at AT TIME ZONE 'UTC', '.US') END || 'Z'"
)
# row_to_json prints compactly ({"id":"..."}), as pydantic prints every other response; json_build_object
# spaced its keys ("id" : "...").
_ITEM_HEAD_JSON = (
    "(SELECT row_to_json(head) FROM (SELECT articles.article_id AS id, "
    f"{shown_title_sql('articles')} AS title, {title_derived_sql('articles')} AS title_derived, "
    "articles.source_file, articles.source, articles.published_at, "
    f"{_INGESTED_AT_JSON} AS ingested_at, articles.duplicate_of, articles.story_id) AS head)::text"
)
_LISTING_SQL = """
SELECT page.article_id, page.sort_value, {head} AS head, {snippet} AS snippet, {tsquery} AS tsquery, {floor},
       (SELECT count(*) FROM articles reprints WHERE reprints.duplicate_of = page.article_id) AS reprint_count,
       coalesce(listing.entities::text, '[]') AS entities
FROM (
    SELECT a.article_id, a.published_at, {selected_key} AS sort_value
    FROM articles a
    WHERE {conditions}
    ORDER BY {key} {direction}, a.article_id {direction}
    LIMIT %(limit)s
) AS page
JOIN articles ON articles.article_id = page.article_id
-- An outer join: an article must never drop out of a page (and end it early) for want of a listing row.
LEFT JOIN article_listings listing ON listing.article_id = page.article_id
ORDER BY {page_key} {direction}, page.article_id {direction}
"""


# sort=relevance: the window of the newest matches, then their ranks. The first page takes the
# window by LIMIT and reports its floor; later pages take it by the floor from their cursor.
_RELEVANCE_PAGE_SQL = """
    SELECT w.article_id, w.published_at, w.sort_value, w.floor_at, w.floor_id, w.examined
    FROM (
        SELECT n.article_id, n.published_at, ts_rank(n.search, {tsquery}) AS sort_value,
               last_value(n.ingested_at) OVER newest AS floor_at,
               last_value(n.article_id) OVER newest AS floor_id,
               count(*) OVER newest AS examined
        FROM (
            SELECT a.article_id, a.published_at, a.ingested_at, a.search
            FROM articles a
            WHERE {conditions}
            ORDER BY {window_order}
            {window_limit}
        ) AS n
        WINDOW newest AS (ORDER BY n.ingested_at DESC, n.article_id DESC
                          ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
    ) AS w
    WHERE {after}
    ORDER BY w.sort_value DESC, w.article_id DESC
    LIMIT %(limit)s
"""


# A search's expected matches (see _estimated_share): its query as Postgres parses it, for the
# lexeme statistics, or the planner's estimate when other filters count too.
_PARSED_QUERY_SQL = f"SELECT {_TSQUERY}::text".encode()
_ESTIMATED_MATCHES_SQL = "EXPLAIN (FORMAT JSON) SELECT 1 FROM articles a WHERE {conditions}"


@dataclass(frozen=True)
class _ListingShape:
    """Which filters a listing uses (not their values): one SQL text per shape."""

    sort: str
    include_duplicates: bool
    q: bool
    entity_groups: int
    driving_group: int | None
    type_only: bool
    sources: bool
    story: bool
    since: bool
    until: bool
    after: bool
    dated: bool | None = None
    window_floor: bool = False
    # With q and a date sort: "walk" the newest SEARCH_WALK_ROWS in sort order and test them, or
    # take the matches from the GIN "bitmap" and sort them (see list_articles). With an entity and
    # an ingest-time sort: "links" reads the page off the links of the group ``link_group``
    # (bounded to SEARCH_WALK_ROWS links when there is a q to test).
    search_plan: str = ""
    link_group: int | None = None
    link_ids: int = 0
    # "bitmap" and relevance: only the matches within an ingest-time window (``%(window_edge)s``):
    # the one the page lies in, or the one holding the newest matches to rank.
    windowed: bool = False
    # Entity groups tested on the article's own ids (articles.entity_ids, GIN-indexed) instead of
    # its links: with q, the word's and the entities' index bitmaps are ANDed (see list_articles).
    keyed: bool = False


def _conditions(shape: _ListingShape, *, estimated: bool = False) -> list[str]:
    """The filters of a listing shape as SQL conditions on ``articles a`` (the search's among them).

    ``estimated``: the search as a constant the planner estimates, not an InitPlan (see _SEARCH_CONDITION).
    """
    conditions = ["TRUE"]
    if not shape.include_duplicates:
        conditions.append("a.duplicate_of IS NULL")
    if shape.q:
        conditions.append(_ESTIMATED_SEARCH_CONDITION if estimated else _SEARCH_CONDITION)
    for group in range(shape.entity_groups):
        if shape.keyed:
            conditions.append(f"a.entity_ids && CAST(%(entity_ids_{group})s AS text[])")
            continue
        if group == shape.driving_group:
            # The few articles of a rare entity, fetched by id: see list_articles.
            conditions.append(
                "a.article_id = ANY(ARRAY(SELECT ae.article_id FROM article_entities ae "
                f"WHERE ae.entity_id = ANY(%(entity_ids_{group})s)))"
            )
            continue
        conditions.append(
            "EXISTS (SELECT 1 FROM article_entities ae WHERE ae.article_id = a.article_id "
            f"AND ae.entity_id = ANY(%(entity_ids_{group})s))"
        )
    if shape.type_only:
        conditions.append(
            "EXISTS (SELECT 1 FROM article_entities ae WHERE ae.article_id = a.article_id "
            "AND ae.entity_type = %(entity_type)s)"
        )
    if shape.sources:
        conditions.append("lower(a.source) = ANY(%(sources)s)")
    if shape.story:
        conditions.append("a.story_id = %(story)s")
    if shape.since:
        conditions.append("a.published_at >= %(since)s")
    if shape.until:
        conditions.append("a.published_at <= %(until)s")
    if shape.dated is not None:
        conditions.append(f"a.published_at IS {'NOT ' if shape.dated else ''}NULL")
    return conditions


@lru_cache(maxsize=512)
def _listing_sql(shape: _ListingShape) -> str:
    key = _SORT_KEYS[shape.sort]
    descending = shape.sort.startswith("-") or shape.sort == "relevance"
    # A bounded link walk keeps the estimate: with the default one its custom plan tested the links'
    # articles differently (2.8 -> 7.0 ms median over the bench's q + entity pairs).
    conditions = _conditions(shape, estimated=shape.search_plan == "links")
    if shape.sort == "relevance":
        return _relevance_sql(shape, conditions)
    if shape.search_plan == "links":
        # A bounded walk (with q) reports the links it read: fewer than the walk means it read them all.
        examined = "page.examined" if shape.q else "NULL"
        listing = _listing_base(shape, key, descending, [], examined=examined)
        return _with_page(listing, _link_walk_sql(shape, conditions, descending))
    if shape.after:
        comparison = "<" if descending else ">"
        conditions.append(f"({key}, a.article_id) {comparison} ({_KEYSET_VALUES[shape.sort]}, %(after_id)s)")
    direction = "DESC" if descending else "ASC"
    order_key = key
    if shape.q and shape.search_plan == "walk":
        # The search condition moves out of the walk, which is bounded: see list_articles.
        conditions = [c for c in conditions if c != _SEARCH_CONDITION]
        inner = _WALK_PAGE_SQL.format(
            selected_key="a.published_at" if shape.sort in ("-published_at", "published_at") else key,
            key=key,
            conditions="\n          AND ".join(conditions),
            direction=direction,
            tsquery=_TSQUERY,
        )
        return _with_page(_listing_base(shape, key, descending, []), inner)
    if shape.windowed:
        conditions.append(f"a.ingested_at {'>=' if descending else '<='} %(window_edge)s")
    if shape.q and shape.search_plan == "bitmap":
        # Not the sort index's own expression, on purpose: the matches come from the GIN index and
        # are sorted, instead of the planner walking the sort index and testing each article.
        order_key = f"{key} + interval '0'" if shape.sort in ("-ingested_at", "ingested_at") else f"{key} + 0"
    return _listing_base(shape, key, descending, conditions, order_key)


_WALK_PAGE_SQL = """
    SELECT r.article_id, r.published_at, r.sort_value
    FROM (
        SELECT a.article_id, a.published_at, {selected_key} AS sort_value, {key} AS order_key, a.search
        FROM articles a
        WHERE {conditions}
        ORDER BY {key} {direction}, a.article_id {direction}
        LIMIT %(walk)s
    ) AS r
    WHERE r.search @@ {tsquery}
    ORDER BY r.order_key {direction}, r.article_id {direction}
    LIMIT %(limit)s
"""


# An entity group's articles in ingest order, read off the links index: one ordered scan per id
# the group's name stands for (the union of each id's first page holds the group's first page).
# Each id is its own bound value, not an element of an array: the planner then knows how common
# the entity is, and reads its links in index order. Given an id it cannot see (from unnest), it
# estimated ~300 links and fetched all 54,000 of "US" to sort them (200 ms).
_LINK_WALK_PAGE_SQL = """
    SELECT DISTINCT w.article_id, w.published_at, w.sort_value
    FROM ({branches}) AS w
    ORDER BY w.sort_value {direction}, w.article_id {direction}
    LIMIT %(limit)s
"""
_LINK_WALK_BRANCH_SQL = """(
        SELECT a.article_id, a.published_at, a.ingested_at AS sort_value
        FROM article_entities d
        JOIN articles a ON a.article_id = d.article_id
        WHERE {conditions}
        ORDER BY d.ingested_at {direction}, d.article_id {direction}
        LIMIT %(limit)s
    )"""


# With q, each walked link costs an article lookup and a search vector read (30-50 us), so the walk
# is bounded: the group's first %(walk)s links (past them the GIN index takes over, see
# list_articles). They are the first %(walk)s of the union of each id's first %(walk)s, so the walk
# is a prefix of the sort order whatever the number of ids; an article linked to two of the ids is
# one row of it. ``examined`` counts them (fewer than the walk: every link was read); they are
# ordered again after that count so the join below reads them in order and stops at the page.
_BOUNDED_LINKS_SQL = """(
            SELECT d.article_id, d.ingested_at FROM article_entities d
            WHERE {conditions}
            ORDER BY d.ingested_at {direction}, d.article_id {direction}
            LIMIT %(walk)s
        )"""
_BOUNDED_LINK_WALK_SQL = """
    SELECT a.article_id, a.published_at, a.ingested_at AS sort_value, d.examined
    FROM (
        SELECT d.article_id, d.ingested_at, count(*) OVER () AS examined
        FROM (
            SELECT DISTINCT d.article_id, d.ingested_at
            FROM (
            {links}
            ) AS d
            ORDER BY d.ingested_at {direction}, d.article_id {direction}
            LIMIT %(walk)s
        ) AS d
        ORDER BY d.ingested_at {direction}, d.article_id {direction}
    ) AS d
    JOIN articles a ON a.article_id = d.article_id
    WHERE {conditions}
    ORDER BY d.ingested_at {direction}, d.article_id {direction}
    LIMIT %(limit)s
"""


def _link_walk_sql(shape: _ListingShape, conditions: list[str], descending: bool) -> str:
    direction = "DESC" if descending else "ASC"
    driving = f"%(entity_ids_{shape.link_group})s"
    article_conditions = [c for c in conditions if driving not in c]  # the walk replaces the driving group's
    link_lists = []
    for position in range(shape.link_ids):
        link_conditions = [f"d.entity_id = %(link_id_{position})s"]
        if not shape.include_duplicates:
            link_conditions.append("d.in_original")
        if shape.after:
            comparison = "<" if descending else ">"
            link_conditions.append(f"(d.ingested_at, d.article_id) {comparison} (%(after_key)s, %(after_id)s)")
        link_lists.append(link_conditions)
    if shape.q:
        return _BOUNDED_LINK_WALK_SQL.format(
            links="\n        UNION ALL\n        ".join(
                _BOUNDED_LINKS_SQL.format(conditions=" AND ".join(link_conditions), direction=direction)
                for link_conditions in link_lists
            ),
            conditions="\n      AND ".join(article_conditions) or "TRUE",
            direction=direction,
        )
    branches = [
        _LINK_WALK_BRANCH_SQL.format(
            conditions="\n          AND ".join([*link_conditions, *article_conditions]),
            direction=direction,
        )
        for link_conditions in link_lists
    ]
    return _LINK_WALK_PAGE_SQL.format(branches="\n    UNION ALL\n    ".join(branches), direction=direction)


def _with_page(listing: str, page: str) -> str:
    """The listing with its page subquery replaced by ``page``."""
    # The page's FROM opens a line; the item's head JSON has a FROM ( of its own.
    head, _, rest = listing.partition("\nFROM (")
    _, _, tail = rest.partition(") AS page")
    return f"{head}\nFROM ({page}) AS page{tail}"


def _listing_base(
    shape: _ListingShape,
    key: str,
    descending: bool,
    conditions: list[str],
    order_key: str | None = None,
    examined: str = "NULL",
) -> str:
    return _LISTING_SQL.format(
        head=_ITEM_HEAD_JSON,
        # With q: the body (bounded) for the API to highlight, and the query as Postgres parsed it
        # (stemmed, stop words dropped); without: the opening stored with the listing row.
        snippet=f"left(articles.body, {SNIPPET_SOURCE_MAX_CHARS})" if shape.q else "listing.opening",
        tsquery=f"{_TSQUERY}::text" if shape.q else "NULL",
        floor=f"NULL AS floor_at, NULL AS floor_id, {examined} AS examined",
        selected_key="a.published_at" if shape.sort in ("-published_at", "published_at") else key,
        conditions="\n      AND ".join(conditions) or "TRUE",
        key=order_key or key,
        direction="DESC" if descending else "ASC",
        page_key=_PAGE_KEYS[shape.sort],
    )


def _relevance_sql(shape: _ListingShape, conditions: list[str]) -> str:
    if shape.window_floor:
        conditions = [*conditions, "(a.ingested_at, a.article_id) >= (%(floor_at)s, %(floor_id)s)"]
    elif shape.windowed:
        conditions = [*conditions, "a.ingested_at >= %(window_edge)s"]
    page = _RELEVANCE_PAGE_SQL.format(
        tsquery=_TSQUERY,
        conditions="\n          AND ".join(conditions),
        window_limit="" if shape.window_floor else f"LIMIT {RELEVANCE_WINDOW}",
        # Not the index's own expression, on purpose: walking the newest-first index and testing each
        # article's search vector (read from TOAST, ~10 us each) until the window is full cost
        # 190 ms for a word in 3 % of 100k articles; the planner prices that test as nearly free.
        # The GIN bitmap and a sort of the matches cost ~11 ms for it (and ~56 ms for "market", in
        # 40 %, where the walk is cheaper: the bounded cost is the point).
        window_order="a.ingested_at + interval '0' DESC, a.article_id DESC",
        after=(
            f"(w.sort_value, w.article_id) < ({_KEYSET_VALUES['relevance']}, %(after_id)s)" if shape.after else "TRUE"
        ),
    )
    listing = _LISTING_SQL.format(
        head=_ITEM_HEAD_JSON,
        snippet=f"left(articles.body, {SNIPPET_SOURCE_MAX_CHARS})",
        tsquery=f"{_TSQUERY}::text",
        floor="page.floor_at, page.floor_id, page.examined",
        selected_key="",
        conditions="",
        key="",
        direction="DESC",
        page_key="page.sort_value",
    )
    return _with_page(listing, page)  # the generic listing's page subquery, replaced by the ranked window's


@lru_cache(maxsize=64)
def _estimated_matches_sql(shape: _ListingShape) -> bytes:
    return _ESTIMATED_MATCHES_SQL.format(conditions=" AND ".join(_conditions(shape, estimated=True))).encode()


def _matches_are_estimable(shape: _ListingShape) -> bool:
    """Whether a search's matches can be estimated well enough to size a window by.

    Only a search without entity, type or story filters: its matches are estimated from the
    columns' statistics. The planner's estimate of an entity or type filter (an EXISTS over the
    links) or of a story is a guess, and the lexeme statistics know nothing of them.
    """
    return not (shape.entity_groups or shape.type_only or shape.story)


async def _estimated_share(conn: AsyncConnection, shape: _ListingShape, params: dict[str, Any]) -> float | None:
    """The share of the archive the search is expected to match; None without statistics.

    A search filtered only by q (and reprints) is estimated from the lexeme statistics
    (``search_estimate``): one prepared round trip to parse the query (~0.13 ms). Other filters
    (sources, dates) ask the planner, whose estimate counts them too: one ``EXPLAIN`` (~0.5 ms
    on 100k articles; 12,882 expected for "servic", 12,876 found). Statistics, not results: the
    share only sizes windows that are then checked.
    """
    await HISTOGRAM.refresh(conn)
    if HISTOGRAM.archive <= 0:
        return None
    share = None
    if _lexemes_alone_estimate(shape):
        share = await _lexeme_share(conn, params["q"], originals_only=not shape.include_duplicates)
    if share is None:
        cursor = await conn.execute(_estimated_matches_sql(shape), params)
        row = await cursor.fetchone()
        share = float(row[0][0]["Plan"]["Plan Rows"]) / HISTOGRAM.archive if row else 0.0
    # Never less than one article, as the planner rounds its estimate.
    return min(max(share, 1.0 / HISTOGRAM.archive), 1.0)


def _lexemes_alone_estimate(shape: _ListingShape) -> bool:
    """Whether the lexeme statistics alone estimate the search's share: they know nothing of
    sources or publication dates (nor of entities, types or stories: callers check those)."""
    return not (shape.sources or shape.since or shape.until or shape.dated is not None)


async def _lexeme_share(conn: AsyncConnection, q: str, *, originals_only: bool) -> float | None:
    """The share of the archive ``q`` is expected to match, from the lexeme statistics alone (one
    prepared round trip to parse it); None without statistics."""
    await LEXEMES.refresh(conn)
    cursor = await conn.execute(_PARSED_QUERY_SQL, {"q": q}, prepare=True)
    parsed = await cursor.fetchone()
    return LEXEMES.share(parsed[0] if parsed else "", originals_only=originals_only)


async def _ranked_in_a_window(
    conn: AsyncConnection, shape: _ListingShape, params: dict[str, Any]
) -> list[ArticleRow] | None:
    """A first relevance page ranked within a window of the newest articles; None when it needs every match.

    Ranking the newest RELEVANCE_WINDOW matches took every match from the GIN index and sorted
    them by ingest time: 23 ms for "servic" (12,900 matches of 100k articles), of which ranking
    the 500 took 2.7 ms. The window's matches alone (the GIN bitmap ANDed with the ingest-time
    index) cost 7.7 ms. The window is exact when it held RELEVANCE_WINDOW matches: it holds every
    article newer than its edge, so the newest matches are all in it.
    """
    share = await _estimated_share(conn, shape, params)
    if share is None:
        return None
    rows = RELEVANCE_WINDOW * RANKED_WINDOW_MARGIN / share
    if rows > HISTOGRAM.archive * RANKED_WINDOW_MAX_SHARE:
        return None  # matches too few for a window to save much: taking them all is cheap
    edge = HISTOGRAM.window_edge(rows, descending=True, after=None)
    if edge is None:
        return None
    found = await _rows(conn, replace(shape, windowed=True), {**params, "window_edge": edge}, "relevance", None)
    if found and (found[0].examined or 0) >= RELEVANCE_WINDOW:
        return found
    return None  # the window held fewer than RELEVANCE_WINDOW matches: rank the newest of them all


async def _walks_first(conn: AsyncConnection, shape: _ListingShape, params: dict[str, Any], limit: int) -> float | None:
    """For a search sorted by ingest time: None when the short walk should run, else the estimated share.

    The walk tests the newest SEARCH_WALK_ROWS articles (2.6 ms median on 100k articles) and
    answers alone only for words common enough to fill a page in it: 13 of the bench's 400 words.
    In a large archive, the estimated share of matches (far cheaper: see _estimated_share) sends
    the others straight to the window it sizes, or to the index. A small archive walks first: the
    walk and every match from the index are both cheap there, the estimate is not.
    """
    await HISTOGRAM.refresh(conn)
    if HISTOGRAM.archive < ESTIMATE_FIRST_MIN_ARCHIVE or not _matches_are_estimable(shape):
        return None
    share = await _estimated_share(conn, shape, params)
    if share is None or share * SEARCH_WALK_ROWS >= limit * WALK_FILL_MARGIN:
        return None  # common enough that the walk is likely to fill the page
    return share


async def _keyed_first(conn: AsyncConnection, shape: _ListingShape, params: dict[str, Any]) -> bool:
    """For a search with entities sorted by ingest time: whether its words are rare enough to AND indexes.

    The link walk tests the entity's newest links for the words (~20 us a link: the article and
    its search vector) and fills a page only when the words are common among them. Over the
    bench's 400 word and entity pairs (taken from the same article, as an analyst's usually are),
    sending the words estimated in under KEYED_SEARCH_MAX_SHARE of the archive to the ANDed GIN
    indexes instead gave a mean of 3.9 ms against 5.7 (p99 18 against 23 ms); above that share
    the walk was the cheaper (a common word and a common entity share thousands of articles,
    which the AND would read and sort). Only searches filtered by nothing else are estimated this
    way (the lexeme statistics know nothing of sources, dates or stories), and only in an archive
    large enough for the estimate to cost less than it saves.
    """
    # Not shape.type_only: it never holds with entity groups.
    if not shape.q or shape.story or not _lexemes_alone_estimate(shape):
        return False
    await HISTOGRAM.refresh(conn)
    if HISTOGRAM.archive < ESTIMATE_FIRST_MIN_ARCHIVE:
        return False
    share = await _lexeme_share(conn, params["q"], originals_only=not shape.include_duplicates)
    return share is not None and share < KEYED_SEARCH_MAX_SHARE


def _driving_group(filters: ArticleFilters, limit: int) -> int | None:
    """The entity group whose articles are few enough to fetch by id and sort, if any.

    Otherwise the planner walks the sort's index and probes each article's links until the page
    is full, costing (limit / the entity's share of the archive) probes: right for a common
    entity, but it was chosen for rare ones too (23 ms for an entity in 640 of 100k articles,
    5.6 ms by id; the other way round for one in 17,800: 3 ms walking, 149 ms by id). The two
    costs cross where the entity's count is about sqrt(limit x archive size).
    """
    if not filters.entity_counts or not filters.archive_estimate:
        return None
    count, group = min((count, group) for group, count in enumerate(filters.entity_counts))
    return group if count * count < limit * filters.archive_estimate else None


# Measured on the 100k-article bench database: testing one article of a walk costs ~2.8 us (its
# search vector read from TOAST); taking one match from the GIN index ~1.7 us (a heap visit, and
# its share of the sort).
WALK_US_PER_ARTICLE = 2.8
INDEX_US_PER_MATCH = 1.7
# A search with entities takes the ANDed GIN indexes when its words are estimated in less than
# this share of the archive (see _keyed_first).
KEYED_SEARCH_MAX_SHARE = 0.10
# Links an entity may gain between reading its count and walking its links (commits in between).
LINK_COUNT_SLACK = 50
# A window of the newest articles is sized to hold this many pages of matches, by the share of
# matches the short walk found.
WINDOW_PAGES = 3.0
# A relevance window is sized to hold this many times RELEVANCE_WINDOW matches, by the planner's
# estimate of the matches; a window that would span more than RANKED_WINDOW_MAX_SHARE of the
# archive is not used (visiting most matches anyway, it would only add the estimate's cost).
RANKED_WINDOW_MARGIN = 1.5
RANKED_WINDOW_MAX_SHARE = 0.5
# A search sorted by ingest time estimates its matches before the short walk only in an
# archive of at least this many articles; it then walks when the walk is expected to find at
# least WALK_FILL_MARGIN pages of matches (an estimate's error costs only time, never rows).
ESTIMATE_FIRST_MIN_ARCHIVE = 10_000
WALK_FILL_MARGIN = 1.0
# A longer walk aims this much past the estimate of the articles a page needs, and never walks
# further than LONGEST_WALK articles.
WALK_MARGIN = 1.5
LONGEST_WALK = 20_000
LONGEST_LINK_WALK = 1_500
# See _longer_link_walk.
LINK_WALK_MAX_GROWTH = 3


def _longer_walk(found: int, walked: int, limit: int, population: float) -> int | None:
    """How far to walk for a page when ``walked`` articles held ``found`` matches; None if the GIN index costs less.

    ``population``: how many articles the walk could go through (the archive, or an entity's).
    """
    if found == 0:
        return None  # rarer than 1 in ``walked``: the index holds few matches
    share = found / walked
    rows = math.ceil(limit / share * WALK_MARGIN)
    if rows > LONGEST_WALK or rows * WALK_US_PER_ARTICLE > share * population * INDEX_US_PER_MATCH:
        return None
    return rows


def _read_every_link(rows: Sequence[ArticleRow], walk: int) -> bool:
    """Whether a bounded link walk that returned ``rows`` read every link it could (fewer than ``walk``)."""
    return bool(rows) and rows[0].examined is not None and rows[0].examined < walk


def _longer_link_walk(found: int, limit: int, count: int | None) -> int | None:
    """A walk of every link the group has, when the short walk found a good share of a page and they are few.

    A walked link costs ~10 us (the article's row and search vector) and the walk stops at the
    page's last match, so walking a group of up to LONGEST_LINK_WALK links costs less than the
    index's alternative (~15 ms for an entity of 1,000 articles and a common word: its article ids
    fetched one by one and ANDed with the word's matches, measured on the bench database). Walking
    all of them, not just the links the short walk's share suggests, means the walk never ends
    short of a page it could not tell was complete. None when the short walk found less than
    1 / LINK_WALK_MAX_GROWTH of a page (a share guessed from one or two articles: walking far for
    it cost more than the index, 14 -> 25 ms measured) or the group has too many links.
    """
    if count is None or found * LINK_WALK_MAX_GROWTH < limit:
        return None
    rows = count + LINK_COUNT_SLACK
    return rows if SEARCH_WALK_ROWS < rows <= LONGEST_LINK_WALK else None


def _rarest_group(filters: ArticleFilters) -> int:
    """The entity group with the fewest articles (the first when counts are unknown)."""
    if len(filters.entity_counts) != len(filters.entity_ids):
        return 0
    return min(range(len(filters.entity_ids)), key=lambda group: filters.entity_counts[group])


async def list_articles(
    conn: AsyncConnection,
    filters: ArticleFilters,
    *,
    sort: ArticleSort,
    limit: int,
    after: tuple[Any, str] | None = None,
    window_floor: tuple[Any, str] | None = None,
) -> list[ArticleRow]:
    """Up to ``limit`` articles after the keyset position ``after`` (sort value, article_id), in ``sort`` order.

    ``window_floor`` (sort=relevance): the floor of the window the first page ranked (its rows'
    ``window_floor``); without it, the newest RELEVANCE_WINDOW matches are ranked.

    Each statement finds a page through the indexes and renders, for those rows only, each item's
    JSON (its fields, the entities stored with its listing row), the snippet source and the
    reprint count. Most pages take one; a search may take up to three (a short walk, a window of
    the newest articles, every match), each tried only when the one before found too little.
    """
    if any(not ids for ids in filters.entity_ids):
        return []  # an entity nobody mentions: nothing can match all of them
    if sort == "relevance" and filters.q is None:
        raise ValueError("sort=relevance needs a query")
    shape = _ListingShape(
        sort=sort,
        include_duplicates=filters.include_duplicates,
        q=filters.q is not None,
        entity_groups=len(filters.entity_ids),
        driving_group=_driving_group(filters, limit),
        type_only=filters.entity_type is not None and not filters.entity_ids,
        sources=bool(filters.sources),
        story=filters.story is not None,
        since=filters.since is not None,
        until=filters.until is not None,
        after=after is not None,
        dated=filters.dated,
        window_floor=window_floor is not None,
    )
    params: dict[str, Any] = {
        "limit": limit,
        "q": filters.q,
        "entity_type": filters.entity_type,
        "sources": [source.lower() for source in filters.sources],
        "story": filters.story,
        "since": filters.since,
        "until": filters.until,
        "after_key": after[0] if after else None,
        "after_id": after[1] if after else None,
        "floor_at": window_floor[0] if window_floor else None,
        "floor_id": window_floor[1] if window_floor else None,
    }
    params.update({f"entity_ids_{i}": list(ids) for i, ids in enumerate(filters.entity_ids)})
    params["walk"] = SEARCH_WALK_ROWS
    by_ingest_time = sort in ("-ingested_at", "ingested_at")
    if shape.entity_groups and by_ingest_time and await _keyed_first(conn, shape, params):
        # A word rare enough that the entity's links would hold few of its matches: the page is
        # every article holding both, from the two GIN indexes, sorted (exact, whatever the cursor).
        keyed = replace(shape, search_plan="bitmap", keyed=True, driving_group=None)
        return await _rows(conn, keyed, params, sort, window_floor)
    if shape.entity_groups and by_ingest_time:
        # An entity's articles in ingest order come straight off its links (index
        # ix_article_entities_entity_ingested_at), the rarest group driving: a page reads about a
        # page of links whatever the entity's size. With q the walk is bounded, as below.
        group = _rarest_group(filters)
        walk = replace(shape, search_plan="links", link_group=group, link_ids=len(filters.entity_ids[group]))
        params.update({f"link_id_{i}": entity for i, entity in enumerate(filters.entity_ids[group])})
        count = filters.entity_counts[group] if filters.entity_counts else None
        rows = await _rows(conn, walk, params, sort, window_floor)
        if not shape.q or len(rows) >= limit or _read_every_link(rows, SEARCH_WALK_ROWS):
            # A page, or every match there is: the walk read fewer links than it may (all the
            # group has past the cursor), which for the rare entities most combined searches name
            # leaves the index nothing to add.
            return rows
        if not shape.include_duplicates and count is not None and count + LINK_COUNT_SLACK <= SEARCH_WALK_ROWS:
            # No match at all (so no count of links read), but the group has fewer links than the
            # walk read: its entities' original articles are counted exactly, in the writer's
            # transactions.
            return rows
        longer = _longer_link_walk(len(rows), limit, count)
        if longer is not None:
            rows = await _rows(conn, walk, {**params, "walk": longer}, sort, window_floor)
            if len(rows) >= limit or _read_every_link(rows, longer):
                return rows
        population = float(count or 0)
        estimated = None
    elif sort == "relevance":
        if window_floor is None and _matches_are_estimable(shape):
            ranked = await _ranked_in_a_window(conn, shape, params)
            if ranked is not None:
                return ranked
        return await _rows(conn, shape, params, sort, window_floor)
    elif shape.q:
        # Which plan a date-sorted search needs depends on how common its words are, which the
        # planner gets right but prices wrongly: it counts testing an article's search vector as
        # nearly free, while reading it from TOAST costs more than taking a match from the GIN
        # index, so it walked the sort index for rare words too ("amazon", 0.6 % of 100k
        # articles: 5,420 tests, 38 ms; its 524 matches from the GIN index: ~2 ms). So a short
        # walk is tried first: if the newest SEARCH_WALK_ROWS hold a full page of matches, those
        # are the page (exactly: the page's rows are the first matches in sort order).
        # In a large archive the estimated share of matches first tells whether the walk is worth it.
        walk = replace(shape, search_plan="walk")
        estimated = await _walks_first(conn, shape, params, limit) if by_ingest_time else None
        rows = []
        if estimated is None:
            rows = await _rows(conn, walk, params, sort, window_floor)
            if len(rows) >= limit:
                return rows
        population = 0.0  # the whole archive
    else:
        return await _rows(conn, shape, params, sort, window_floor)
    # The short walk found fewer than a page: how many it found tells how common the words are.
    shape = replace(shape, search_plan="bitmap")
    await HISTOGRAM.refresh(conn)  # the archive's size and ingest-time quantiles (cached for minutes)
    if by_ingest_time and (rows or estimated):
        # Common enough to be found in a short walk (or estimated to be): the page lies in a
        # window of the newest articles (from the cursor on) that is expected to hold several
        # pages of matches, and only the window's matches are read and sorted (see ingest_window).
        if estimated:
            share = estimated
        else:
            share = len(rows) / SEARCH_WALK_ROWS  # of the articles walked: the archive's or an entity's
            if population and HISTOGRAM.archive:
                share *= min(population / HISTOGRAM.archive, 1.0)
        edge = HISTOGRAM.window_edge(
            limit * WINDOW_PAGES / share, descending=sort == "-ingested_at", after=after[0] if after else None
        )
        if edge is not None:
            rows = await _rows(conn, replace(shape, windowed=True), {**params, "window_edge": edge}, sort, window_floor)
            if len(rows) >= limit:
                return rows  # exact: the window is a prefix of the sort order from the cursor on
    elif not by_ingest_time:
        # Sorted by publication date: a longer walk (it stops at the page's last match) or the index.
        longer = _longer_walk(len(rows), SEARCH_WALK_ROWS, limit, population or HISTOGRAM.archive)
        if longer is not None:
            rows = await _rows(conn, walk, {**params, "walk": longer}, sort, window_floor)
            if len(rows) >= limit:
                return rows
    return await _rows(conn, shape, params, sort, window_floor)


async def _rows(
    conn: AsyncConnection,
    shape: _ListingShape,
    params: dict[str, Any],
    sort: ArticleSort,
    window_floor: tuple[Any, str] | None,
) -> list[ArticleRow]:
    # A walk's plan is its shape's (an index in sort order, a bounded number of tests), so it is
    # prepared and its plan kept: planning took ~0.5 ms of the ~1-3 ms such a page costs. The other
    # shapes are planned with their values (see session_settings).
    prepare = shape.search_plan in ("walk", "links")
    cursor = await conn.execute(_listing_sql(shape).encode(), params, prepare=prepare)
    return [
        ArticleRow(
            article_id=article_id,
            sort_key=sort_value,
            head=head,
            snippet=snippet or "",
            tsquery=tsquery,
            reprint_count=reprint_count,
            entities=entities_json,
            window_floor=((window_floor or (floor_at, floor_id)) if sort == "relevance" else None),
            examined=examined,
        )
        for (
            article_id,
            sort_value,
            head,
            snippet,
            tsquery,
            floor_at,
            floor_id,
            examined,
            reprint_count,
            entities_json,
        ) in await cursor.fetchall()
    ]


def entities_of(conn: Connection, article_ids: Sequence[str]) -> dict[str, list[RowMapping]]:
    """Each article's entities (id, name, type, mentions, mention_count) in order of appearance."""
    link, e = article_entities.c, entities.c
    query = (
        select(link.article_id, e.id, e.name, e.type, link.mentions, link.mention_count)
        .join_from(article_entities, entities, e.id == link.entity_id)
        .where(link.article_id.in_(list(article_ids)))
        .order_by(link.article_id, link.ordinal)
    )
    grouped: dict[str, list[RowMapping]] = {}
    for row in conn.execute(query).mappings():
        grouped.setdefault(row["article_id"], []).append(row)
    return grouped


@dataclass
class ArticleRecord:
    """One article in full: its row, entities, reprints or original, and its story's other articles."""

    fields: RowMapping
    entities: list[RowMapping]
    reprints: list[RowMapping]
    original: RowMapping | None
    story_articles: list[RowMapping]
    story_size: int


_SUMMARY_COLUMNS = (
    articles.c.article_id,
    func.coalesce(articles.c.derived_title, articles.c.title).label("title"),
    articles.c.derived_title.isnot(None).label("title_derived"),
    articles.c.source_file,
    articles.c.source,
    articles.c.published_at,
    articles.c.ingested_at,
    articles.c.duplicate_kind,
    articles.c.similarity,
    articles.c.duplicate_evidence,
)


def get_article(conn: Connection, article_id: str) -> ArticleRecord | None:
    a = articles.c
    columns = [column for column in articles.c if column.name != "search"]
    fields = conn.execute(select(*columns).where(a.article_id == article_id)).mappings().first()
    if fields is None:
        return None
    reprints = list(
        conn.execute(
            select(*_SUMMARY_COLUMNS).where(a.duplicate_of == article_id).order_by(a.ingested_at, a.article_id)
        ).mappings()
    )
    original = None
    if fields["duplicate_of"] is not None:
        original = (
            conn.execute(select(*_SUMMARY_COLUMNS).where(a.article_id == fields["duplicate_of"])).mappings().first()
        )
    story_articles: list[RowMapping] = []
    story_size = 0
    if fields["story_id"] is not None:
        story_size = conn.execute(select(func.count()).where(a.story_id == fields["story_id"])).scalar_one()
        story_articles = list(
            conn.execute(
                select(*_SUMMARY_COLUMNS)
                .where(a.story_id == fields["story_id"])
                .order_by(a.ingested_at, a.article_id)
                .limit(STORY_ARTICLES_MAX)
            ).mappings()
        )
    return ArticleRecord(
        fields=fields,
        entities=entities_of(conn, [article_id]).get(article_id, []),
        reprints=reprints,
        original=original,
        story_articles=story_articles,
        story_size=story_size,
    )
