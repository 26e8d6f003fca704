"""The listing's SQL, composed from parts: a page subquery per access path inside one item frame.

Every request value is a bound parameter; the only SQL text here comes from constants, the sort
and filter registries and the shape. Texts are built once per shape (cached): building the SQL
as a SQLAlchemy expression cost more Python time per request (~5 ms, measured with py-spy on
100k articles) than Postgres took to run it.

Each page subquery yields ``article_id, published_at, sort_value`` (and, for relevance and
bounded link walks, ``floor_at, floor_id, examined``); the frame renders each item's JSON for
those rows only.
"""

from __future__ import annotations

from functools import lru_cache

from services.store.db.listing.filters import FILTERS_BY_NAME, TSQUERY
from services.store.db.listing.shape import Access, ListingShape
from services.store.db.listing.sorts import ArticleSort
from services.store.db.models import shown_title_sql, title_derived_sql

# The listings take the query from an InitPlan, so the planner does not estimate how many articles
# match it: that estimate reads the search column's 10,000 most common lexemes from pg_statistic
# and took ~0.4 ms of the ~0.9 ms it spent planning a search page (100k articles), while the
# page's plan no longer depends on it (the SQL fixes the order; windows bound the work). The
# relevance window's EXPLAIN and the bounded link walk ask for the estimate: they get the query as
# a constant. So does the date-sorted walk, which tests it on its bounded subquery.
SEARCH_CONDITION = f"a.search @@ (SELECT {TSQUERY})"
ESTIMATED_SEARCH_CONDITION = f"a.search @@ {TSQUERY}"

# ingested_at as the response models print it (pydantic: UTC as "Z", fractional seconds only when
# there are some), so the JSON Postgres builds reads exactly like the models' JSON.
_INGESTED_AT_JSON = (
    "to_char(articles.ingested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
    "CASE WHEN date_trunc('second', articles.ingested_at) = articles.ingested_at THEN '' "
    "ELSE to_char(articles.ingested_at AT TIME ZONE 'UTC', '.US') END || 'Z'"
)
# The item's own fields: ArticleItem's first fields, in its order (tests/api/test_api_articles.py
# holds every page Postgres renders to the ArticlePage model); the route adds snippet,
# reprint_count and entities. row_to_json prints compactly ({"id":"..."}), as pydantic prints.
ITEM_HEAD_FIELDS: dict[str, str] = {
    "id": "articles.article_id",
    "title": shown_title_sql("articles"),
    "title_derived": title_derived_sql("articles"),
    "source_file": "articles.source_file",
    "source": "articles.source",
    "published_at": "articles.published_at",
    "ingested_at": _INGESTED_AT_JSON,
    "duplicate_of": "articles.duplicate_of",
    "story_id": "articles.story_id",
}
ITEM_HEAD_JSON = (
    "(SELECT row_to_json(head) FROM (SELECT "
    + ", ".join(f"{sql} AS {field}" for field, sql in ITEM_HEAD_FIELDS.items())
    + ") AS head)::text"
)
_FRAME_SQL = """
SELECT page.article_id, page.sort_value, {head} AS head, {snippet} AS snippet, {tsquery} AS tsquery, {floor},
       (SELECT count(*) FROM articles reprints WHERE reprints.duplicate_of = page.article_id) AS reprint_count,
       coalesce(listing.entities::text, '[]') AS entities
FROM ({page}) AS page
JOIN articles ON articles.article_id = page.article_id
-- An outer join: an article must never drop out of a page (and end it early) for want of a listing row.
LEFT JOIN article_listings listing ON listing.article_id = page.article_id
ORDER BY {page_key} {direction}, page.article_id {direction}
"""
_PLAIN_PAGE_SQL = """
    SELECT a.article_id, a.published_at, {selected_key} AS sort_value
    FROM articles a
    WHERE {conditions}
    ORDER BY {key} {direction}, a.article_id {direction}
    LIMIT %(limit)s
"""
# A search tested on the first %(walk)s articles in sort order: see planner.
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
# is bounded: the group's first %(walk)s links. They are the first %(walk)s of the union of each
# id's first %(walk)s, so the walk is a prefix of the sort order whatever the number of ids; an
# article linked to two of the ids is one row of it. ``examined`` counts them (fewer than the
# walk: every link was read); they are ordered again after that count so the join below reads
# them in order and stops at the page.
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
_AND = "\n      AND "


def entity_condition(shape: ListingShape, group: int) -> str:
    """Entity group ``group`` as a condition on ``articles a``."""
    if shape.keyed:
        return f"a.entity_ids && CAST(%(entity_ids_{group})s AS text[])"
    if group == shape.driving_group:
        # The few articles of a rare entity, fetched by id: see planner.driving_group.
        return (
            "a.article_id = ANY(ARRAY(SELECT ae.article_id FROM article_entities ae "
            f"WHERE ae.entity_id = ANY(%(entity_ids_{group})s)))"
        )
    return (
        "EXISTS (SELECT 1 FROM article_entities ae WHERE ae.article_id = a.article_id "
        f"AND ae.entity_id = ANY(%(entity_ids_{group})s))"
    )


def conditions(
    shape: ListingShape, *, estimated: bool = False, search: bool = True, skip_group: int | None = None
) -> list[str]:
    """The shape's filters as conditions on ``articles a``.

    ``estimated``: the search as a constant the planner estimates, not an InitPlan. ``search``:
    False leaves the search out (a walk tests it on its bounded rows). ``skip_group``: an entity
    group a link walk reads instead.
    """
    found = ["TRUE"]
    if not shape.include_duplicates:
        found.append("a.duplicate_of IS NULL")
    if shape.q and search:
        found.append(ESTIMATED_SEARCH_CONDITION if estimated else SEARCH_CONDITION)
    found += [entity_condition(shape, group) for group in range(shape.entity_groups) if group != skip_group]
    found += [FILTERS_BY_NAME[name].condition for name in shape.filters]
    return found


def _keyset(shape: ListingShape, key: str) -> str:
    order = shape.order
    comparison = "<" if order.descending else ">"
    return f"({key}, a.article_id) {comparison} ({order.keyset_value}, %(after_id)s)"


def _selected_key(shape: ListingShape) -> str:
    return shape.order.selected_column or shape.order.key


def plain_page(shape: ListingShape) -> str:
    """The planner's own choice over the sort's index, or (BITMAP) the search's matches sorted."""
    order = shape.order
    found = conditions(shape)
    if shape.after:
        found.append(_keyset(shape, order.key))
    if shape.windowed:
        found.append(f"a.ingested_at {'>=' if order.descending else '<='} %(window_edge)s")
    # BITMAP: not the sort index's own expression, on purpose (see SortSpec.unindexed_key).
    order_key = order.unindexed_key if shape.q and shape.access is Access.BITMAP else order.key
    return _PLAIN_PAGE_SQL.format(
        selected_key=_selected_key(shape), conditions=_AND.join(found), key=order_key, direction=order.direction
    )


def walk_page(shape: ListingShape) -> str:
    """A search tested on a bounded walk of the sort's index."""
    order = shape.order
    found = conditions(shape, search=False)
    if shape.after:
        found.append(_keyset(shape, order.key))
    return _WALK_PAGE_SQL.format(
        selected_key=_selected_key(shape),
        key=order.key,
        conditions="\n          AND ".join(found),
        direction=order.direction,
        tsquery=TSQUERY,
    )


def link_walk_page(shape: ListingShape) -> str:
    """An entity group's articles off its links (bounded to %(walk)s links with q)."""
    direction = shape.order.direction
    # A bounded link walk keeps the estimate: with the default one its custom plan tested the links'
    # articles differently (2.8 -> 7.0 ms median over the bench's q + entity pairs).
    article_conditions = conditions(shape, estimated=True, skip_group=shape.link_group)
    link_lists = []
    for position in range(shape.link_ids):
        link_conditions = [f"d.entity_id = %(link_id_{position})s"]
        if not shape.include_duplicates:
            link_conditions.append("d.in_original")
        if shape.after:
            comparison = "<" if shape.order.descending else ">"
            link_conditions.append(f"(d.ingested_at, d.article_id) {comparison} (%(after_key)s, %(after_id)s)")
        link_lists.append(link_conditions)
    if shape.q:
        links = "\n        UNION ALL\n        ".join(
            _BOUNDED_LINKS_SQL.format(conditions=" AND ".join(link_conditions), direction=direction)
            for link_conditions in link_lists
        )
        return _BOUNDED_LINK_WALK_SQL.format(
            links=links, conditions="\n      AND ".join(article_conditions), direction=direction
        )
    branches = "\n    UNION ALL\n    ".join(
        _LINK_WALK_BRANCH_SQL.format(
            conditions="\n          AND ".join([*link_conditions, *article_conditions]), direction=direction
        )
        for link_conditions in link_lists
    )
    return _LINK_WALK_PAGE_SQL.format(branches=branches, direction=direction)


def relevance_page(shape: ListingShape) -> str:
    """The newest matches (a window), ranked."""
    found = conditions(shape)
    if shape.window_floor:
        found.append("(a.ingested_at, a.article_id) >= (%(floor_at)s, %(floor_id)s)")
    elif shape.windowed:
        found.append("a.ingested_at >= %(window_edge)s")
    return _RELEVANCE_PAGE_SQL.format(
        tsquery=TSQUERY,
        conditions="\n          AND ".join(found),
        window_limit="" if shape.window_floor else "LIMIT %(relevance_window)s",
        # Not the index's own expression, on purpose: walking the newest-first index and testing each
        # article's search vector (read from TOAST, ~10 us each) until the window is full cost
        # 190 ms for a word in 3 % of 100k articles; the planner prices that test as nearly free.
        # The GIN bitmap and a sort of the matches cost ~11 ms for it (and ~56 ms for "market", in
        # 40 %, where the walk is cheaper: the bounded cost is the point).
        window_order="a.ingested_at + interval '0' DESC, a.article_id DESC",
        after=(f"(w.sort_value, w.article_id) < ({shape.order.keyset_value}, %(after_id)s)" if shape.after else "TRUE"),
    )


def _page(shape: ListingShape) -> str:
    if shape.sort is ArticleSort.relevance:
        return relevance_page(shape)
    if shape.access is Access.LINKS:
        return link_walk_page(shape)
    if shape.q and shape.access is Access.WALK:
        return walk_page(shape)
    return plain_page(shape)


def _floor_columns(shape: ListingShape) -> str:
    if shape.sort is ArticleSort.relevance:
        return "page.floor_at, page.floor_id, page.examined"
    # A bounded walk (with q) reports the links it read: fewer than the walk means it read them all.
    examined = "page.examined" if shape.access is Access.LINKS and shape.q else "NULL"
    return f"NULL AS floor_at, NULL AS floor_id, {examined} AS examined"


@lru_cache(maxsize=512)
def listing_sql(shape: ListingShape) -> bytes:
    """The whole statement for a shape: its page subquery inside the item frame."""
    return _FRAME_SQL.format(
        head=ITEM_HEAD_JSON,
        # With q: the body (bounded) for the API to highlight, and the query as Postgres parsed it
        # (stemmed, stop words dropped); without: the opening stored with the listing row.
        snippet="left(articles.body, %(snippet_chars)s)" if shape.q else "listing.opening",
        tsquery=f"{TSQUERY}::text" if shape.q else "NULL",
        floor=_floor_columns(shape),
        page=_page(shape),
        page_key=shape.order.page_key,
        direction=shape.order.direction,
    ).encode()


@lru_cache(maxsize=64)
def estimated_matches_sql(shape: ListingShape) -> bytes:
    """The planner's estimate of the shape's matches (EXPLAIN: its ``Plan Rows``)."""
    where = " AND ".join(conditions(shape, estimated=True))
    return f"EXPLAIN (FORMAT JSON) SELECT 1 FROM articles a WHERE {where}".encode()
