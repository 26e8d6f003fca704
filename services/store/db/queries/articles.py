"""Read queries over articles: the filtered, keyset-paged listing and the full record of one article.

Queries only: no formatting and no HTTP. Every value from a request reaches SQL as a bound
parameter; the only SQL text assembled here comes from constants in this package.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    Float,
    RowMapping,
    Subquery,
    Text,
    cast,
    exists,
    func,
    literal_column,
    select,
    text,
    tuple_,
)

from services.store.db.models import (
    PUBLISHED_ASC_KEY_SQL,
    PUBLISHED_DESC_KEY_SQL,
    TEXT_SEARCH_CONFIG,
    article_entities,
    article_listings,
    articles,
    entities,
)

ArticleSort = Literal["-ingested_at", "ingested_at", "-published_at", "published_at", "relevance"]

# A search snippet is looked for in at most this much of a body: a 10 MB file must not stall a page.
SNIPPET_SOURCE_MAX_CHARS = 20_000
STORY_ARTICLES_MAX = 50

_CONFIG: ColumnElement[str] = literal_column(f"'{TEXT_SEARCH_CONFIG}'::regconfig")
_PUBLISHED_DESC_KEY: ColumnElement[date] = literal_column(PUBLISHED_DESC_KEY_SQL)
_PUBLISHED_ASC_KEY: ColumnElement[date] = literal_column(PUBLISHED_ASC_KEY_SQL)

_RESOLVE_ENTITIES = text(
    """
    SELECT v.n, e.id FROM unnest(CAST(:values AS text[])) WITH ORDINALITY AS v(value, n)
    JOIN entities e ON e.id = v.value
    WHERE CAST(:type AS text) IS NULL OR e.type = CAST(:type AS text)
    UNION
    SELECT v.n, e.id FROM unnest(CAST(:values AS text[])) WITH ORDINALITY AS v(value, n)
    JOIN entities e ON lower(e.name) = lower(v.value)
    WHERE CAST(:type AS text) IS NULL OR e.type = CAST(:type AS text)
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
    include_duplicates: bool = False


# ingested_at as the response models print it (pydantic: UTC as "Z", fractional seconds only when
# there are some), so the JSON built by Postgres reads exactly like the models' JSON.
_INGESTED_AT_JSON: ColumnElement[str] = literal_column(
    "to_char(articles.ingested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
    "CASE WHEN date_trunc('second', articles.ingested_at) = articles.ingested_at THEN '' "
    "ELSE to_char(articles.ingested_at AT TIME ZONE 'UTC', '.US') END || 'Z'"
)


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


def resolve_entities(conn: Connection, values: Sequence[str], entity_type: str | None) -> list[list[str]]:
    """For each value (an entity id or a canonical name, any case), the ids it names."""
    groups: list[list[str]] = [[] for _ in values]
    if values:
        for position, entity_id in conn.execute(_RESOLVE_ENTITIES, {"values": list(values), "type": entity_type}):
            groups[position - 1].append(entity_id)
    return groups


def _search_query(q: str) -> ColumnElement[Any]:
    return func.websearch_to_tsquery(_CONFIG, q)


def _sort_expression(sort: ArticleSort, q: str | None) -> ColumnElement[Any]:
    if sort == "relevance":
        if q is None:
            raise ValueError("sort=relevance needs a query")
        return func.ts_rank(articles.c.search, _search_query(q))
    if sort in ("-ingested_at", "ingested_at"):
        return articles.c.ingested_at
    return _PUBLISHED_DESC_KEY if sort == "-published_at" else _PUBLISHED_ASC_KEY


def _keyset_value(sort: ArticleSort, value: Any) -> ColumnElement[Any] | Any:
    # Published keys travel as 'YYYY-MM-DD' or '±infinity' (Python dates have no infinity).
    if sort in ("-published_at", "published_at"):
        return cast(value, Date)
    if sort == "relevance":
        return cast(value, Float)
    return value


def _conditions(filters: ArticleFilters) -> list[ColumnElement[bool]]:
    a = articles.c
    conditions: list[ColumnElement[bool]] = []
    if not filters.include_duplicates:
        conditions.append(a.duplicate_of.is_(None))
    if filters.q is not None:
        conditions.append(a.search.bool_op("@@")(_search_query(filters.q)))
    for ids in filters.entity_ids:
        link = article_entities.c
        conditions.append(exists().where(link.article_id == a.article_id, link.entity_id.in_(list(ids))))
    if filters.entity_type is not None and not filters.entity_ids:
        link = article_entities.c
        conditions.append(exists().where(link.article_id == a.article_id, link.entity_type == filters.entity_type))
    if filters.sources:
        conditions.append(func.lower(a.source).in_([source.lower() for source in filters.sources]))
    if filters.story is not None:
        conditions.append(a.story_id == filters.story)
    if filters.since is not None:
        conditions.append(a.published_at >= filters.since)
    if filters.until is not None:
        conditions.append(a.published_at <= filters.until)
    return conditions


def list_articles(
    conn: Connection,
    filters: ArticleFilters,
    *,
    sort: ArticleSort,
    limit: int,
    after: tuple[Any, str] | None = None,
) -> list[ArticleRow]:
    """Up to ``limit`` articles after the keyset position ``after`` (sort value, article_id), in ``sort`` order.

    One round trip: the inner query finds the page through the indexes; the outer one renders, for
    those rows only, each item's JSON (its fields, the entities stored with its listing row), the
    snippet and the reprint count.
    """
    if any(not ids for ids in filters.entity_ids):
        return []  # an entity nobody mentions: nothing can match all of them
    key = _sort_expression(sort, filters.q)
    descending = sort.startswith("-") or sort == "relevance"
    conditions = _conditions(filters)
    if after is not None:
        position = tuple_(key, articles.c.article_id)
        bound = tuple_(_keyset_value(sort, after[0]), after[1])
        conditions.append(position < bound if descending else position > bound)
    a = articles.c
    # Published keys are selected as the plain column: the ±infinity in the key cannot load into Python.
    published = sort in ("-published_at", "published_at")
    selected_key = a.published_at if published else key
    order = (key.desc(), a.article_id.desc()) if descending else (key.asc(), a.article_id.asc())
    page = (
        select(a.article_id, a.published_at, selected_key.label("sort_value"))
        .where(*conditions)
        .order_by(*order)
        .limit(limit)
        .subquery("page")
    )
    listing = article_listings.c
    head = func.json_build_object(
        "id", a.article_id,
        "title", a.title,
        "source_file", a.source_file,
        "source", a.source,
        "published_at", a.published_at,
        "ingested_at", _INGESTED_AT_JSON,
        "duplicate_of", a.duplicate_of,
        "story_id", a.story_id,
    )  # fmt: skip
    query = (
        select(
            page.c.article_id,
            page.c.sort_value,
            cast(head, Text).label("head"),
            _snippet(filters.q).label("snippet"),
            # The query as Postgres parsed it (stemmed, stop words dropped): what the snippet highlights.
            (cast(_search_query(filters.q), Text) if filters.q is not None else literal_column("NULL")).label(
                "tsquery"
            ),
            _reprint_count(page).label("reprint_count"),
            func.coalesce(cast(listing.entities, Text), "[]").label("entities"),
        )
        .join_from(page, articles, articles.c.article_id == page.c.article_id)
        # An outer join: an article must never drop out of a page (and end it early) for want of a listing row.
        .outerjoin(article_listings, listing.article_id == page.c.article_id)
        .order_by(*_page_order(sort, page, descending))
    )
    return [
        ArticleRow(
            article_id=row.article_id,
            sort_key=row.sort_value,
            head=row.head,
            snippet=row.snippet or "",
            tsquery=row.tsquery,
            reprint_count=row.reprint_count,
            entities=row.entities,
        )
        for row in conn.execute(query)
    ]


def _page_order(sort: ArticleSort, page: Subquery, descending: bool) -> tuple[ColumnElement[Any], ...]:
    """The listing's order again, over the page's columns."""
    if sort in ("-published_at", "published_at"):
        infinity: ColumnElement[Any] = literal_column("'-infinity'::date" if descending else "'infinity'::date")
        key: ColumnElement[Any] = func.coalesce(page.c.published_at, infinity)
    else:
        key = page.c.sort_value
    if descending:
        return key.desc(), page.c.article_id.desc()
    return key.asc(), page.c.article_id.asc()


def _snippet(q: str | None) -> ColumnElement[str]:
    # With q: the body (bounded) for the API to highlight; without: the opening stored with the listing.
    if q is None:
        return article_listings.c.opening
    return func.left(articles.c.body, SNIPPET_SOURCE_MAX_CHARS)


def _reprint_count(page: Subquery) -> ColumnElement[int]:
    reprints = articles.alias("reprints")
    return select(func.count()).where(reprints.c.duplicate_of == page.c.article_id).scalar_subquery()


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
    articles.c.title,
    articles.c.source_file,
    articles.c.source,
    articles.c.published_at,
    articles.c.ingested_at,
    articles.c.duplicate_kind,
    articles.c.similarity,
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
