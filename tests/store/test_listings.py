"""Listing rows (``article_listings``) and articles' entity ids: written by the writer, exact after
redelivery and new versions; and every listing plan lists what plain SQL lists.

The read API's listing sends the JSON these rows hold without rebuilding it, and a search with an
entity may test ``articles.entity_ids`` instead of the links, so the tests compare both with what
the normalised tables say (links joined with entities, the body's opening) and compare the
listing's items with the full record, which is still built from those tables by the response
models.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from services.api.app import create_app
from services.api.schemas import ArticleItem
from services.store.consumer import make_article_handler
from services.store.db.listing import ArticleFilters, ArticleRow, ArticleSort, Listing, ListingStatistics, ListingTuning
from services.store.db.listing.planner import ListingRequest, Stage, Statement, driving_group
from services.store.db.listing.shape import ListingShape
from services.store.db.models import TEXT_SEARCH_CONFIG
from services.store.db.queries.entities import resolve_entities_counted
from services.store.db.reader import AsyncConnection, ReadPool
from services.store.db.session import make_writer_engine
from services.store.snippets import opening
from shared.config import Settings
from shared.db import run_migrations
from shared.events import DuplicateLink, EnrichedArticle, EntityRef
from shared.identity import entity_id, sha256_hex
from tests.conftest import throwaway_database
from tests.store.conftest import snapshot
from tests.store.seed_events import BASE_TIME, by_prefix, deliveries, seed_events, text_article

# What the listing rows must equal: the links and entity rows, rendered the way the API lists them.
_FROM_THE_LINKS = text(
    """
    SELECT a.article_id, a.body, l.entities::text AS listed, l.opening,
           coalesce((
               SELECT json_agg(json_build_object('id', e.id, 'name', e.name, 'type', e.type,
                                                 'mentions', ae.mentions, 'count', ae.mention_count)
                               ORDER BY ae.ordinal)
               FROM article_entities ae JOIN entities e ON e.id = ae.entity_id
               WHERE ae.article_id = a.article_id
           ), '[]'::json)::text AS linked,
           a.entity_ids,
           coalesce((
               SELECT array_agg(ae.entity_id ORDER BY ae.ordinal)
               FROM article_entities ae WHERE ae.article_id = a.article_id
           ), '{}'::text[]) AS linked_ids
    FROM articles a LEFT JOIN article_listings l ON l.article_id = a.article_id
    ORDER BY a.article_id
    """
)


def _assert_listings_match_the_links(engine: Engine) -> int:
    with engine.connect() as conn:
        rows = conn.execute(_FROM_THE_LINKS).all()
    for row in rows:
        assert row.listed is not None, f"article {row.article_id} has no listing row"
        assert json.loads(row.listed) == json.loads(row.linked), row.article_id
        assert row.opening == opening(row.body), row.article_id
        assert row.entity_ids == row.linked_ids, f"article {row.article_id}: its entity ids are not its links'"
    return len(rows)


def _retagged(event: EnrichedArticle, entities: list[EntityRef], hours: int) -> EnrichedArticle:
    return event.model_copy(update={"entities": entities, "enriched_at": event.enriched_at + timedelta(hours=hours)})


def test_listings_are_exact_after_redelivery_and_new_versions(writer: Engine) -> None:
    handle = make_article_handler(writer)
    events = seed_events()
    handle(deliveries(events))
    assert _assert_listings_match_the_links(writer) == 6
    first = snapshot(writer)

    redelivered = events * 3
    random.Random(5).shuffle(redelivered)
    for start in range(0, len(redelivered), 4):
        handle(deliveries(redelivered[start : start + 4]))
    assert snapshot(writer) == first, "redelivery changes no listing row"

    seed = by_prefix(events)["001"]
    new_entity = EntityRef(id=entity_id("ORG", "Senate"), name="Senate", type="ORG", mentions=["Senate"], count=2)
    # A newer enrichment drops one entity, adds one (named twice: folded into its first place) and
    # changes a body: the listing and the article's entity ids follow all three.
    newer = _retagged(seed, [new_entity, *seed.entities[1:], new_entity], hours=1)
    newer = newer.model_copy(update={"article": newer.article.model_copy(update={"body": "A corrected <b>body</b>."})})
    handle(deliveries([newer]))
    _assert_listings_match_the_links(writer)
    with writer.connect() as conn:
        listed = conn.execute(
            text("SELECT entities::text, opening FROM article_listings WHERE article_id = :id"),
            {"id": seed.article.article_id},
        ).one()
    assert json.loads(listed[0])[0]["name"] == "Senate"
    assert listed[1] == "A corrected &lt;b&gt;body&lt;/b&gt;."

    # The older version arriving late changes nothing.
    before = snapshot(writer)
    handle(deliveries([seed]))
    assert snapshot(writer) == before


def test_listing_shows_the_stored_spelling_of_a_name(writer: Engine) -> None:
    """Entity ids ignore case, so "IMRAN KHAN" is the entity first stored as "Imran Khan"; listings say so."""
    handle = make_article_handler(writer)
    seeds = by_prefix(seed_events())
    handle(deliveries([seeds["000"]]))
    shouted = EntityRef(
        id=entity_id("PERSON", "IMRAN KHAN"), name="IMRAN KHAN", type="PERSON", mentions=["Khan"], count=1
    )
    assert shouted.id == entity_id("PERSON", "Imran Khan")
    handle(deliveries([seeds["002"].model_copy(update={"entities": [shouted]})]))
    _assert_listings_match_the_links(writer)
    with writer.connect() as conn:
        listed = conn.execute(
            text("SELECT entities::text FROM article_listings WHERE article_id = :id"),
            {"id": seeds["002"].article.article_id},
        ).scalar_one()
    assert json.loads(listed) == [
        {"id": shouted.id, "name": "Imran Khan", "type": "PERSON", "mentions": ["Khan"], "count": 1}
    ]


def test_migration_fills_listings_for_articles_already_stored(writer: Engine, store_database_url: str) -> None:
    make_article_handler(writer)(deliveries(seed_events()))
    written = snapshot(writer)["article_listings"]
    writer.dispose()  # the downgrade drops a table these pooled connections have read
    run_migrations(store_database_url, service="store", revision="0001_store_schema", downgrade=True)
    run_migrations(store_database_url, service="store")
    assert snapshot(writer)["article_listings"] == written


_LISTED_FIELDS = tuple(ArticleItem.model_fields)


def _listing(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/articles", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_listed_items_equal_the_full_records(client: TestClient) -> None:
    """Each item Postgres rendered says what the full record (built by the response models) says."""
    items = _listing(client, include_duplicates="true")
    assert len(items) == 6
    for item in items:
        assert list(item) == list(_LISTED_FIELDS), "the fields of ArticleItem, in its order"
        detail = client.get(f"/articles/{item['id']}").json()
        assert {name: item[name] for name in _LISTED_FIELDS} == {name: detail[name] for name in _LISTED_FIELDS}


def test_timestamps_read_as_the_models_print_them(writer: Engine, store_database_url: str) -> None:
    """Whole seconds and fractions alike: ingested_at in a listing is the string the models give."""
    seeds = seed_events()
    shifted = [
        e.model_copy(
            update={
                "article": e.article.model_copy(
                    update={"ingested_at": e.article.ingested_at + timedelta(microseconds=i * 1500)}
                )
            }
        )
        for i, e in enumerate(seeds)
    ]
    make_article_handler(writer)(deliveries(shifted))
    with TestClient(create_app(Settings(database_url=store_database_url))) as client:
        items = _listing(client, include_duplicates="true")
        assert {item["ingested_at"][-1] for item in items} == {"Z"}
        assert any("." in item["ingested_at"] for item in items) and any(
            "." not in item["ingested_at"] for item in items
        )
        for item in items:
            assert item["ingested_at"] == client.get(f"/articles/{item['id']}").json()["ingested_at"]


@dataclass
class _Ran:
    """One listing statement as it ran: its plan, the request it served, the ids it returned."""

    statement: Statement
    request: ListingRequest
    ids: list[str]
    examined: int | None

    @property
    def shape(self) -> ListingShape:
        return self.statement.shape

    @property
    def plan(self) -> str:
        return self.statement.shape.search_plan

    @property
    def walk(self) -> int:
        return self.statement.walk

    @property
    def after_id(self) -> str | None:
        return self.request.after[1] if self.request.after else None


class _Traced(Listing):
    """The listing executor with given tuning and statistics, recording each statement it runs."""

    def __init__(self, tuning: ListingTuning | None = None, statistics: ListingStatistics | None = None) -> None:
        super().__init__(tuning, statistics if statistics is not None else ListingStatistics())
        self.ran: list[_Ran] = []

    async def page(self, conn: AsyncConnection, filters: ArticleFilters, **asked: Any) -> list[ArticleRow]:
        return await super().page(conn, filters, observe=self._record, **asked)

    def _record(self, request: ListingRequest, statement: Statement, rows: Sequence[ArticleRow]) -> None:
        examined = rows[0].examined if rows else None
        self.ran.append(_Ran(statement, request, [row.article_id for row in rows], examined))


def _on_read_pool(database_url: str, work: Callable[[AsyncConnection], Awaitable[Any]]) -> Any:
    """``work`` on a connection of the API's own read pool, as the listing route runs it."""

    async def run() -> Any:
        pool = ReadPool(Settings(database_url=database_url))
        try:
            return await pool.run(work)
        finally:
            await pool.close()

    return asyncio.run(run())


@pytest.mark.parametrize("entity_names", [["Imran Khan"], ["Imran Khan", "Zulfi Bukhari"], ["Tommy Tuberville"]])
def test_rare_entities_fetched_by_id_list_the_same_page(seeded_database_url: str, entity_names: list[str]) -> None:
    """The listing driven by a rare entity's article ids returns what the index walk returns."""

    listing = _Traced()

    async def compare(conn: AsyncConnection) -> None:
        groups, counts, _ = await resolve_entities_counted(conn, entity_names, None)
        walked = ArticleFilters(entity_ids=groups)
        by_id = ArticleFilters(entity_ids=groups, entity_counts=counts, archive_estimate=1e9)
        assert driving_group(by_id, 21) is not None and driving_group(walked, 21) is None
        for sort in ("-ingested_at", "published_at"):
            first = await listing.page(conn, walked, sort=sort, limit=3)
            assert first, "the seeds mention these entities"
            assert [r.article_id for r in await listing.page(conn, by_id, sort=sort, limit=3)] == [
                r.article_id for r in first
            ]
            key = first[-1].sort_key  # as the route puts it in a cursor: undated sorts last, as infinity
            after_key = key if sort == "-ingested_at" else (key.isoformat() if key is not None else "infinity")
            after = (after_key, first[-1].article_id)
            assert [r.article_id for r in await listing.page(conn, by_id, sort=sort, limit=100, after=after)] == [
                r.article_id for r in await listing.page(conn, walked, sort=sort, limit=100, after=after)
            ]

    _on_read_pool(seeded_database_url, compare)


@pytest.mark.parametrize("sort", ["-ingested_at", "ingested_at", "-published_at", "published_at"])
@pytest.mark.parametrize("walk_rows", [1, 3, 100])
def test_date_sorted_search_lists_the_same_pages_walked_or_from_the_index(
    seeded_database_url: str, sort: ArticleSort, walk_rows: int
) -> None:
    """Whether the bounded walk filled the page or the GIN index did, the pages are the same."""
    listing = _Traced(ListingTuning(search_walk_rows=walk_rows))
    filters = ArticleFilters(q="Imran Khan", include_duplicates=True)

    async def page_through(conn: AsyncConnection) -> tuple[list[str], list[str]]:
        everything = [row.article_id for row in await listing.page(conn, filters, sort=sort, limit=100)]
        paged: list[str] = []
        after = None
        while True:
            rows = await listing.page(conn, filters, sort=sort, limit=3, after=after)  # the route asks for limit + 1
            paged += [row.article_id for row in rows[:2]]
            if len(rows) < 3:
                break
            last = rows[1]
            key = last.sort_key
            if sort.endswith("published_at"):
                key = key.isoformat() if key is not None else ("-infinity" if sort.startswith("-") else "infinity")
            after = (key, last.article_id)
        return everything, paged

    everything, paged = _on_read_pool(seeded_database_url, page_through)
    assert len(everything) == 6
    assert paged == everything


# --- entity pages off the links, and searches, against a plain SQL reference ------------------------
# The name "Jordan" stands for two entities (a person and a place): the seeds have no such name, so
# the archive below adds articles tagged with either or both (the links plan then reads one ordered
# branch per id). Minutes after BASE_TIME, the entities each article is tagged with, and whether its
# body has the word "summit"; seeds are at minutes 0-5. Two articles share minute 20 (a tie the
# article id breaks) and one is a reprint (of minute 16's article).
_JORDAN_PERSON = EntityRef(id=entity_id("PERSON", "Jordan"), name="Jordan", type="PERSON", mentions=["Jordan"], count=1)
_JORDAN_PLACE = EntityRef(
    id=entity_id("LOCATION", "Jordan"), name="Jordan", type="LOCATION", mentions=["Jordan"], count=1
)
_IMRAN_KHAN = EntityRef(
    id=entity_id("PERSON", "Imran Khan"), name="Imran Khan", type="PERSON", mentions=["Imran Khan"], count=1
)
_SHARED_NAME_ARTICLES: list[tuple[str, int, list[EntityRef], bool]] = [
    ("j10", 10, [_JORDAN_PERSON], True),
    ("j11", 11, [_JORDAN_PERSON, _IMRAN_KHAN], False),
    ("j12", 12, [_JORDAN_PERSON], True),
    ("j13", 13, [_JORDAN_PERSON], True),
    ("j15", 15, [_JORDAN_PLACE, _IMRAN_KHAN], True),
    ("j16", 16, [_JORDAN_PERSON, _JORDAN_PLACE], True),
    ("j20a", 20, [_JORDAN_PERSON, _IMRAN_KHAN], True),
    ("j20b", 20, [_JORDAN_PLACE], True),
    ("j21", 21, [_JORDAN_PERSON], True),
    ("j22", 22, [_JORDAN_PERSON, _IMRAN_KHAN], True),
    ("j23", 23, [_JORDAN_PERSON], False),
]
# The reprint, of j16: tagged with both and with Imran Khan.
_SHARED_NAME_REPRINT = ("j25", 25, [_JORDAN_PERSON, _JORDAN_PLACE, _IMRAN_KHAN], True)
_REPRINTED = {"j25": "j16"}


def _shared_name_events() -> list[EnrichedArticle]:
    events: dict[str, EnrichedArticle] = {}
    for name, minute, refs, summit in [*_SHARED_NAME_ARTICLES, _SHARED_NAME_REPRINT]:
        body = f"Jordan ({name}): delegates met {'at the summit ' if summit else ''}in Amman on minute {minute}."
        ingested = BASE_TIME + timedelta(minutes=minute)
        original = events[_REPRINTED[name]].article.article_id if name in _REPRINTED else None
        events[name] = EnrichedArticle(
            article=text_article(
                f"jordan/{name}.txt",
                body.encode(),
                body=body,
                title=None,
                published=date(2025, 1, minute),
                source="Wire",
                ingested=ingested,
            ),
            entities=refs,
            duplicate=DuplicateLink(duplicate_of=original, kind="reprint", similarity=0.9) if original else None,
            content_hash=sha256_hex(body.encode()),
            enriched_at=ingested + timedelta(seconds=1),
        )
    return list(events.values())


@pytest.fixture(scope="module")
def shared_name_database_url(postgres_admin_url: str) -> Iterator[str]:
    """The seeds plus the "Jordan" articles, stored by the real handler (a database of this module's own)."""
    with throwaway_database(postgres_admin_url, prefix="newsflow_store") as url:
        run_migrations(url, service="store")
        engine = make_writer_engine(Settings(database_url=url))
        make_article_handler(engine)(deliveries([*seed_events(), *_shared_name_events()]))
        engine.dispose()
        yield url


_ARCHIVES = {"seeded": "seeded_database_url", "shared_name": "shared_name_database_url"}


def _reference_ids(
    database_url: str, names: list[str], *, q: str | None, sort: ArticleSort, include_duplicates: bool
) -> list[str]:
    """What a listing must return, by plain SQL: every article mentioning an entity of each name
    (any type), matching ``q``, originals only unless ``include_duplicates``, in the sort's order."""
    direction = "DESC" if sort.startswith("-") else "ASC"
    key = {
        "ingested_at": "a.ingested_at",
        "published_at": "coalesce(a.published_at, 'infinity'::date)",
        "-ingested_at": "a.ingested_at",
        "-published_at": "coalesce(a.published_at, '-infinity'::date)",
        "-source": "coalesce(lower(a.source), '')",
    }[sort]
    query = f"""
        SELECT a.article_id FROM articles a
        WHERE (%(duplicates)s OR a.duplicate_of IS NULL)
          AND (CAST(%(q)s AS text) IS NULL
               OR a.search @@ websearch_to_tsquery('{TEXT_SEARCH_CONFIG}'::regconfig, %(q)s))
          AND NOT EXISTS (
              SELECT 1 FROM unnest(CAST(%(names)s AS text[])) AS wanted(name)
              WHERE NOT EXISTS (
                  SELECT 1 FROM article_entities ae JOIN entities e ON e.id = ae.entity_id
                  WHERE ae.article_id = a.article_id AND lower(e.name) = lower(wanted.name)))
        ORDER BY {key} {direction}, a.article_id {direction}
    """
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(query, {"duplicates": include_duplicates, "q": q, "names": names}).fetchall()
    return [row[0] for row in rows]


async def _route_filters(
    conn: AsyncConnection, names: list[str], *, q: str | None, include_duplicates: bool
) -> ArticleFilters:
    """The filters the /articles route builds for these entity names and q."""
    groups, counts, archive = await resolve_entities_counted(conn, names, None)
    return ArticleFilters(
        q=q, entity_ids=groups, entity_counts=counts, archive_estimate=archive, include_duplicates=include_duplicates
    )


async def _paged_ids(
    listing: Listing, conn: AsyncConnection, filters: ArticleFilters, sort: ArticleSort, page_size: int
) -> list[str]:
    """Every id, page by page, as the route pages: limit + 1 rows asked, the page's last row the cursor."""
    ids: list[str] = []
    after: tuple[Any, str] | None = None
    for _ in range(100):
        rows = await listing.page(conn, filters, sort=sort, limit=page_size + 1, after=after)
        assert len(rows) <= page_size + 1
        ids += [row.article_id for row in rows[:page_size]]
        if len(rows) <= page_size:
            return ids
        last = rows[page_size - 1]
        key = last.sort_key
        if sort.endswith("published_at"):
            key = key.isoformat() if key is not None else ("-infinity" if sort.startswith("-") else "infinity")
        after = (key, last.article_id)
    raise AssertionError("the pages never ended")


@pytest.mark.parametrize("include_duplicates", [False, True])
@pytest.mark.parametrize("sort", ["-ingested_at", "ingested_at"])
@pytest.mark.parametrize(
    ("archive", "names"),
    [
        ("seeded", ["Imran Khan"]),
        ("seeded", ["Imran Khan", "Zulfi Bukhari"]),
        ("shared_name", ["Jordan"]),
        ("shared_name", ["Jordan", "Imran Khan"]),
        ("shared_name", ["Imran Khan", "jordan"]),
    ],
)
def test_entity_pages_off_the_links_equal_plain_sql(
    request: pytest.FixtureRequest, archive: str, names: list[str], sort: ArticleSort, include_duplicates: bool
) -> None:
    """Paged through with cursors, an entity listing sorted by ingest time lists exactly the articles
    mentioning every name (any entity of that name), in (ingested_at, article_id) order."""
    database_url: str = request.getfixturevalue(_ARCHIVES[archive])
    expected = _reference_ids(database_url, names, q=None, sort=sort, include_duplicates=include_duplicates)
    assert len(expected) >= 2, "the test data has articles for these names"
    listing = _Traced()

    async def listed(conn: AsyncConnection) -> tuple[list[list[str]], list[str], list[str], list[str]]:
        filters = await _route_filters(conn, names, q=None, include_duplicates=include_duplicates)
        whole = await listing.page(conn, filters, sort=sort, limit=100)
        return (
            [list(ids) for ids in filters.entity_ids],
            [row.article_id for row in whole],
            await _paged_ids(listing, conn, filters, sort, 2),
            await _paged_ids(listing, conn, filters, sort, 1),
        )

    groups, whole, by_two, by_one = _on_read_pool(database_url, listed)
    if archive == "shared_name":
        jordan = next(ids for name, ids in zip(names, groups, strict=True) if name.lower() == "jordan")
        assert len(jordan) == 2, "the name stands for two entities"
    assert whole == expected
    assert by_two == expected
    assert by_one == expected


# Ways to make a date-sorted search answer from the short walk, a longer walk or the GIN bitmap:
# (search_walk_rows, the longer walk the tuning gives: "real" the default tuning's, "never" none
# (the index answers), "short" a walk of one article, "long" a walk past every article).
_LONGER_WALK_TUNING: dict[str, dict[str, Any]] = {
    "real": {},
    "never": {"longest_walk": 0},
    "short": {"walk_margin": 1e-9, "walk_us_per_article": 0.0},
    "long": {"walk_margin": 1e6, "walk_us_per_article": 0.0, "longest_walk": 10**9},
}
_PLAN_VARIANTS: list[tuple[int, str]] = [
    (1, "real"),
    (2, "real"),
    (100, "real"),
    (1, "never"),
    (2, "never"),
    (1, "short"),
    (2, "short"),
    (1, "long"),
]


@pytest.mark.parametrize(("walk_rows", "longer"), _PLAN_VARIANTS)
@pytest.mark.parametrize("sort", ["-ingested_at", "ingested_at", "-published_at"])
@pytest.mark.parametrize(
    ("archive", "names", "q"),
    [
        ("seeded", [], "Imran Khan"),
        ("seeded", ["Imran Khan"], "Pakistan"),
        ("seeded", ["Imran Khan", "Zulfi Bukhari"], "Imran Khan"),
        ("shared_name", [], "summit"),
        ("shared_name", ["Jordan"], "summit"),
        ("shared_name", ["Jordan", "Imran Khan"], "summit"),
    ],
)
def test_search_lists_the_same_whichever_plan_answers(
    request: pytest.FixtureRequest,
    archive: str,
    names: list[str],
    q: str,
    sort: ArticleSort,
    walk_rows: int,
    longer: str,
) -> None:
    """q alone or q with entities: the short walk, a longer walk or the GIN index give the same pages."""
    database_url: str = request.getfixturevalue(_ARCHIVES[archive])
    expected = {
        duplicates: _reference_ids(database_url, names, q=q, sort=sort, include_duplicates=duplicates)
        for duplicates in (False, True)
    }
    assert len(expected[True]) >= 2, "the test data has matches"

    async def listed(conn: AsyncConnection) -> dict[bool, tuple[list[str], list[str], list[str]]]:
        result = {}
        for duplicates in (False, True):
            filters = await _route_filters(conn, names, q=q, include_duplicates=duplicates)
            whole = [row.article_id for row in await listing.page(conn, filters, sort=sort, limit=100)]
            result[duplicates] = (
                whole,
                await _paged_ids(listing, conn, filters, sort, 2),
                await _paged_ids(listing, conn, filters, sort, 1),
            )
        return result

    listing = _Traced()
    default = _on_read_pool(database_url, listed)
    for duplicates in (False, True):
        assert default[duplicates] == (expected[duplicates],) * 3, f"default tuning, include_duplicates={duplicates}"

    listing = _Traced(ListingTuning(search_walk_rows=walk_rows, **_LONGER_WALK_TUNING[longer]))
    tuned = _on_read_pool(database_url, listed)
    walks = {ran.walk for ran in listing.ran if ran.plan in ("walk", "links")}
    # A name of two entity ids ("Jordan") walks the first links of both together.
    assert walk_rows in walks, "the short walk ran with the tuned length"
    longer_walks = [ran for ran in listing.ran if ran.statement.stage is Stage.LONGER_WALK]
    if longer == "never":
        assert not longer_walks
    if longer == "short":
        assert all(ran.walk == 1 for ran in longer_walks), "the tuning's longer walk ran"
    if longer == "long":
        assert all(ran.walk > 10**5 for ran in longer_walks), "the tuning's longer walk ran"
    for position, ran in enumerate(listing.ran):
        short = ran.statement.stage is Stage.WALK and len(ran.ids) < ran.request.limit
        if short and longer == "never" and not ran.request.by_ingest_time:
            following = listing.ran[position + 1]
            assert (following.plan, following.walk) == ("bitmap", walk_rows), "the index answers"
    for duplicates in (False, True):
        whole, by_two, by_one = tuned[duplicates]
        label = f"include_duplicates={duplicates}"
        assert whole == expected[duplicates], f"limit 100, {label}"
        assert by_two == expected[duplicates], f"pages of 2, {label}"
        assert by_one == expected[duplicates], f"pages of 1, {label}"


# --- a search read within an ingest-time window (see ingest_window) ----------------------------------
# The short walk is cut to 1 article (it finds 1 match, fewer than a page, whenever the next article
# matches), and the histogram is replaced by one that gives a fixed edge: one holding every match,
# one holding only the first match in the sort's direction, one ending at the third match. A window
# that holds a page is the page; one that holds fewer leaves it to the unrestricted index. Either
# way the pages must be the plain-SQL reference's.
class _FixedWindow:
    """A stand-in for the ingest-time histogram: no statistics read, the same edge whatever is asked."""

    def __init__(self) -> None:
        self.archive = 1000.0
        self.edge: datetime | None = None
        self.refreshed = 0
        self.asked: list[tuple[float, bool, datetime | None]] = []

    async def refresh(self, conn: AsyncConnection) -> None:
        self.refreshed += 1

    def window_edge(self, rows: float, *, descending: bool, after: datetime | None) -> datetime | None:
        self.asked.append((rows, descending, after))
        return self.edge


def _ingest_times(database_url: str) -> dict[str, datetime]:
    """Every article's ingest time, by id."""
    with psycopg.connect(database_url) as conn:
        return dict(conn.execute("SELECT article_id, ingested_at FROM articles").fetchall())


@pytest.mark.parametrize("edge_at", ["beyond_every_article", "first_match", "third_match"])
@pytest.mark.parametrize("sort", ["-ingested_at", "ingested_at"])
@pytest.mark.parametrize(("names", "q"), [([], "summit"), (["Imran Khan"], "summit")], ids=["q", "q+entity"])
def test_search_within_an_ingest_window_lists_the_same_pages(
    shared_name_database_url: str,
    names: list[str],
    q: str,
    sort: ArticleSort,
    edge_at: str,
) -> None:
    """q alone or with one entity id, paged or not: a window read first gives the reference's pages,
    holding exactly the matches past the cursor up to its edge; a short one falls back to the index."""
    database_url = shared_name_database_url
    descending = sort == "-ingested_at"
    expected = {
        duplicates: _reference_ids(database_url, names, q=q, sort=sort, include_duplicates=duplicates)
        for duplicates in (False, True)
    }
    times = _ingest_times(database_url)
    edges: dict[bool, datetime] = {}
    for duplicates, ids in expected.items():
        assert len(ids) >= 3, "the test data has several pages of 2 matches"
        beyond = min(times.values()) - timedelta(days=1) if descending else max(times.values()) + timedelta(days=1)
        at = {"beyond_every_article": beyond, "first_match": times[ids[0]], "third_match": times[ids[2]]}
        edges[duplicates] = at[edge_at]

    window = _FixedWindow()
    # The window is what is tested: no longer walk of the entity's links first (tested below).
    listing = _Traced(ListingTuning(search_walk_rows=1, longest_link_walk=0), ListingStatistics(histogram=window))
    ran = listing.ran

    async def listed(conn: AsyncConnection, duplicates: bool) -> tuple[list[str], list[str], list[str]]:
        filters = await _route_filters(conn, names, q=q, include_duplicates=duplicates)
        whole = [row.article_id for row in await listing.page(conn, filters, sort=sort, limit=100)]
        return (
            whole,
            await _paged_ids(listing, conn, filters, sort, 2),
            await _paged_ids(listing, conn, filters, sort, 1),
        )

    for duplicates in (False, True):
        label = f"include_duplicates={duplicates}"
        matches = expected[duplicates]
        window.edge = edges[duplicates]
        window.asked.clear()
        ran.clear()
        whole, by_two, by_one = _on_read_pool(database_url, partial(listed, duplicates=duplicates))
        assert whole == matches, f"limit 100, {label}"
        assert by_two == matches, f"pages of 2, {label}"
        assert by_one == matches, f"pages of 1, {label}"

        assert window.refreshed > 0
        assert window.asked and all(asked_descending == descending for _, asked_descending, _ in window.asked)
        assert all(rows > 0 for rows, _, _ in window.asked)
        cursors = {after for _, _, after in window.asked} - {None}
        assert cursors and cursors <= {times[article_id] for article_id in matches}, "cursors are matches' times"

        windowed = [statement for statement in ran if statement.shape.windowed]
        assert windowed, f"the windowed plan ran, {label}"
        for position, statement in enumerate(ran):
            if not statement.shape.windowed:
                continue
            assert statement.plan == "bitmap" and statement.statement.window_edge == window.edge, label
            # Exactly the matches past the cursor on the window's side of the edge (inclusive).
            rest = matches[matches.index(statement.after_id) + 1 :] if statement.after_id else matches
            inside = [m for m in rest if (times[m] >= window.edge if descending else times[m] <= window.edge)]
            limit = statement.request.limit
            assert statement.ids == inside[:limit], f"the window's rows, {label}"
            if len(statement.ids) < limit:
                following = ran[position + 1]
                assert (following.shape.windowed, following.plan) == (False, "bitmap"), (
                    "a short window: the whole index"
                )
        served = [statement for statement in windowed if len(statement.ids) >= statement.request.limit]
        if edge_at == "beyond_every_article":
            assert served, f"a window holding every match served pages, {label}"
        if edge_at == "first_match":
            assert not served, f"a window of the first match only is never a page, {label}"


# --- a search sorted by ingest time, its walk decided by the planner's estimate -------------------
# In a large archive a search asks the planner how common its words are before the short walk:
# it walks only when the walk should fill the page, else goes to the window the estimate sizes
# (or to the index). The archive floor is lowered so the test data counts as large, and the
# estimate fixed, so each decision is taken; the pages must be the plain-SQL reference's.
_WALK_ROWS_UNDER_ESTIMATE = 10


class _FixedShares(ListingStatistics):
    """Statistics whose estimates are fixed (None: the real one), recording the words each was asked for."""

    def __init__(self, *, matches: float | None = None, lexemes: float | None = None, **given: Any) -> None:
        super().__init__(**given)
        self.matches, self.lexeme_estimate = matches, lexemes
        self.estimated: list[str] = []

    async def matches_share(self, conn: AsyncConnection, shape: ListingShape, params: dict[str, Any]) -> float | None:
        self.estimated.append(params["q"])
        return self.matches if self.matches is not None else await super().matches_share(conn, shape, params)

    async def lexeme_share(self, conn: AsyncConnection, q: str, *, originals_only: bool) -> float | None:
        self.estimated.append(q)
        if self.lexeme_estimate is not None:
            return self.lexeme_estimate
        return await super().lexeme_share(conn, q, originals_only=originals_only)


@pytest.mark.parametrize("share", [1e-6, 0.2, 1.0], ids=["rare", "some", "every"])
@pytest.mark.parametrize("edge_at", ["none", "beyond_every_article", "third_match"])
@pytest.mark.parametrize("sort", ["-ingested_at", "ingested_at"])
def test_estimated_search_walks_only_when_the_walk_should_fill_the_page(
    shared_name_database_url: str, share: float, edge_at: str, sort: ArticleSort
) -> None:
    database_url, q = shared_name_database_url, "summit"
    descending = sort == "-ingested_at"
    times = _ingest_times(database_url)
    window = _FixedWindow()
    statistics = _FixedShares(histogram=window, matches=share)
    tuning = ListingTuning(estimate_first_min_archive=0, search_walk_rows=_WALK_ROWS_UNDER_ESTIMATE)
    listing = _Traced(tuning, statistics)
    estimated = statistics.estimated

    async def listed(conn: AsyncConnection, duplicates: bool) -> tuple[list[str], list[str], list[str]]:
        filters = ArticleFilters(q=q, include_duplicates=duplicates)
        whole = [row.article_id for row in await listing.page(conn, filters, sort=sort, limit=100)]
        return (
            whole,
            await _paged_ids(listing, conn, filters, sort, 2),
            await _paged_ids(listing, conn, filters, sort, 1),
        )

    for duplicates in (False, True):
        label = f"include_duplicates={duplicates}"
        matches = _reference_ids(database_url, [], q=q, sort=sort, include_duplicates=duplicates)
        assert len(matches) >= 3, "the test data has several pages of 2 matches"
        beyond = min(times.values()) - timedelta(days=1) if descending else max(times.values()) + timedelta(days=1)
        window.edge = {"none": None, "beyond_every_article": beyond, "third_match": times[matches[2]]}[edge_at]
        listing.ran.clear()
        estimated.clear()
        whole, by_two, by_one = _on_read_pool(database_url, partial(listed, duplicates=duplicates))
        ran = [(statement.plan, statement.shape.windowed, statement.request.limit) for statement in listing.ran]
        assert whole == matches, f"limit 100, {label}"
        assert by_two == matches, f"pages of 2, {label}"
        assert by_one == matches, f"pages of 1, {label}"

        assert estimated and set(estimated) == {q}, f"every listing asked the estimate first, {label}"
        for limit in {limit for _, _, limit in ran}:
            walked = ("walk", False, limit) in ran
            expected_matches_in_walk = share * _WALK_ROWS_UNDER_ESTIMATE
            assert walked == (expected_matches_in_walk >= limit), (limit, ran, label)
            if not walked:
                answered = [plan for plan in ran if plan[2] == limit]
                assert all(plan == "bitmap" for plan, _, _ in answered), (answered, label)
                if window.edge is not None:
                    assert ("bitmap", True, limit) in ran, f"a window, {label}"
                    sized = limit * tuning.window_pages / share
                    assert any(rows == pytest.approx(sized) for rows, _, _ in window.asked), "sized by the estimate"


def test_estimate_first_sends_a_rare_word_past_the_walk(
    shared_name_database_url: str,
) -> None:
    """With the real estimate (after ANALYZE) and the archive floor lowered: a word in one article
    skips the walk, a word in most of them walks; both list what plain SQL lists."""
    with psycopg.connect(shared_name_database_url, autocommit=True) as conn:
        conn.execute("ANALYZE articles")
        (rare,) = conn.execute(
            "SELECT word FROM ts_stat('SELECT search FROM articles') "
            "WHERE ndoc = 1 AND word ~ '^[a-z]{5,}$' ORDER BY word LIMIT 1"
        ).fetchone() or (None,)
    assert rare is not None
    listing = _Traced(ListingTuning(estimate_first_min_archive=0, search_walk_rows=30))
    plans: dict[str, list[str]] = {}

    async def listed(conn: AsyncConnection) -> dict[str, list[str]]:
        found = {}
        for q in ("summit", rare):
            listing.ran.clear()
            found[q] = [
                r.article_id for r in await listing.page(conn, ArticleFilters(q=q), sort="-ingested_at", limit=3)
            ]
            plans[q] = [ran.plan for ran in listing.ran]
        return found

    found = _on_read_pool(shared_name_database_url, listed)
    for q in ("summit", rare):
        assert (
            found[q]
            == _reference_ids(shared_name_database_url, [], q=q, sort="-ingested_at", include_duplicates=False)[:3]
        )
    assert plans["summit"][0] == "walk", plans
    assert "walk" not in plans[rare], plans


# --- a search with entities, ANDed in the GIN indexes of the words and of articles.entity_ids -------
# The archive floor is lowered so the test data counts as large, and the words' estimated share
# fixed on either side of KEYED_SEARCH_MAX_SHARE: under it the keyed plan answers (one exact
# statement), over it the link walk does; either way the pages are the plain-SQL reference's.


class _KeyedPlans:
    """A listing whose words' share from the lexeme statistics is fixed; the words it was asked for,
    and whether each listing statement that ran was keyed."""

    def __init__(self, share: float = 1e-4, **tuning: Any) -> None:
        self.statistics = _FixedShares(lexemes=share)
        self.listing = _Traced(ListingTuning(**tuning), self.statistics)

    @property
    def estimated(self) -> list[str]:
        return self.statistics.estimated

    @property
    def keyed(self) -> list[bool]:
        return [ran.shape.keyed for ran in self.listing.ran]

    def clear(self) -> None:
        self.estimated.clear()
        self.listing.ran.clear()


@pytest.mark.parametrize("share", [1e-4, 0.5], ids=["rare_word", "common_word"])
@pytest.mark.parametrize("sort", ["-ingested_at", "ingested_at"])
@pytest.mark.parametrize(
    ("archive", "names", "q"),
    [
        ("seeded", ["Imran Khan"], "Pakistan"),
        ("seeded", ["Imran Khan", "Zulfi Bukhari"], "Imran Khan"),
        ("shared_name", ["Jordan"], "summit"),
        ("shared_name", ["Jordan", "Imran Khan"], "summit"),
        ("shared_name", ["Imran Khan"], "summit or Pakistan"),
    ],
)
def test_search_with_entities_lists_the_same_pages_keyed_or_walked(
    request: pytest.FixtureRequest,
    archive: str,
    names: list[str],
    q: str,
    sort: ArticleSort,
    share: float,
) -> None:
    database_url: str = request.getfixturevalue(_ARCHIVES[archive])
    keyed_plans = _KeyedPlans(share, estimate_first_min_archive=0)
    listing = keyed_plans.listing

    async def listed(conn: AsyncConnection, duplicates: bool) -> tuple[list[str], list[str], list[str]]:
        filters = await _route_filters(conn, names, q=q, include_duplicates=duplicates)
        whole = [row.article_id for row in await listing.page(conn, filters, sort=sort, limit=100)]
        return (
            whole,
            await _paged_ids(listing, conn, filters, sort, 2),
            await _paged_ids(listing, conn, filters, sort, 1),
        )

    rare = share < listing.tuning.keyed_search_max_share
    for duplicates in (False, True):
        label = f"include_duplicates={duplicates}"
        expected = _reference_ids(database_url, names, q=q, sort=sort, include_duplicates=duplicates)
        assert len(expected) >= 2, "the test data has several pages of matches"
        keyed_plans.clear()
        whole, by_two, by_one = _on_read_pool(database_url, partial(listed, duplicates=duplicates))
        assert whole == expected, f"limit 100, {label}"
        assert by_two == expected, f"pages of 2, {label}"
        assert by_one == expected, f"pages of 1, {label}"
        assert keyed_plans.estimated and set(keyed_plans.estimated) == {q}, f"the words estimated first, {label}"
        keyed = keyed_plans.keyed
        if rare:
            assert keyed and all(keyed), f"a rare word: every page in one keyed statement, {label}"
        else:
            assert keyed and not any(keyed), f"a common word: the link walk, {label}"


def test_search_with_entities_is_keyed_only_when_nothing_else_filters(
    shared_name_database_url: str,
) -> None:
    """The lexeme statistics know nothing of sources or dates: with either, or in an archive under
    the floor, the links answer even for a rare word."""
    keyed_plans = _KeyedPlans()
    listing = keyed_plans.listing

    async def listed(conn: AsyncConnection, **extra: Any) -> list[str]:
        filters = await _route_filters(conn, ["Jordan"], q="summit", include_duplicates=False)
        filters = replace(filters, **extra)
        return [row.article_id for row in await listing.page(conn, filters, sort="-ingested_at", limit=100)]

    expected = _reference_ids(
        shared_name_database_url, ["Jordan"], q="summit", sort="-ingested_at", include_duplicates=False
    )
    # Under the floor (the test data is a few dozen articles): never estimated.
    assert _on_read_pool(shared_name_database_url, listed) == expected
    assert keyed_plans.keyed and not any(keyed_plans.keyed) and not keyed_plans.estimated

    keyed_plans = _KeyedPlans(estimate_first_min_archive=0)
    listing = keyed_plans.listing
    assert _on_read_pool(shared_name_database_url, listed) == expected
    assert keyed_plans.keyed and all(keyed_plans.keyed), "above the floor and filtered by nothing else: keyed"

    for extra in ({"sources": ["Wire"]}, {"since": date(2025, 1, 1)}):
        keyed_plans.clear()
        assert _on_read_pool(shared_name_database_url, partial(listed, **extra)) == expected
        assert keyed_plans.keyed and not any(keyed_plans.keyed), f"filtered by {extra}: the links"


# --- sort=relevance ranked within an ingest-time window -------------------------------------------
# RELEVANCE_WINDOW is cut to 3 and the histogram replaced by one giving a fixed edge: one holding
# every match (the window holds the 3 newest: its ranking is the page) and one holding only the
# two newest matches (too few: every match is ranked instead). Either way the pages are the
# plain-SQL reference's: the newest 3 matches, by rank.
_RANKED_WINDOW = 3


def _relevance_reference(database_url: str, q: str, *, include_duplicates: bool) -> list[str]:
    originals = "" if include_duplicates else "AND a.duplicate_of IS NULL"
    query = f"""
        SELECT n.article_id FROM (
            SELECT a.article_id, ts_rank(a.search, query) AS rank
            FROM articles a, websearch_to_tsquery('{TEXT_SEARCH_CONFIG}', %(q)s) AS query
            WHERE a.search @@ query {originals}
            ORDER BY a.ingested_at DESC, a.article_id DESC
            LIMIT %(window)s
        ) AS n
        ORDER BY n.rank DESC, n.article_id DESC
    """
    with psycopg.connect(database_url) as conn:
        return [row[0] for row in conn.execute(query, {"q": q, "window": _RANKED_WINDOW}).fetchall()]


async def _ranked_pages(listing: Listing, conn: AsyncConnection, filters: ArticleFilters, page_size: int) -> list[str]:
    """Every id of a relevance listing, page by page, the window's floor carried as the cursor carries it."""
    ids: list[str] = []
    after: tuple[Any, str] | None = None
    floor: tuple[Any, str] | None = None
    for _ in range(100):
        rows = await listing.page(conn, filters, sort="relevance", limit=page_size + 1, after=after, window_floor=floor)
        ids += [row.article_id for row in rows[:page_size]]
        if len(rows) <= page_size:
            return ids
        last = rows[page_size - 1]
        after, floor = (last.sort_key, last.article_id), last.window_floor
    raise AssertionError("the pages never ended")


class _RankedWindow(_FixedWindow):
    """A fixed window, and a listing ranking relevance_window 3 with it."""

    def __init__(self) -> None:
        super().__init__()
        # A tiny archive's estimate would span more than half of it: windows are tried whatever their span.
        tuning = ListingTuning(relevance_window=_RANKED_WINDOW, ranked_window_max_share=float("inf"))
        self.listing = _Traced(tuning, ListingStatistics(histogram=self))


@pytest.fixture
def ranked_window() -> _RankedWindow:
    return _RankedWindow()


@pytest.mark.parametrize("edge_at", ["beyond_every_article", "second_newest_match"])
@pytest.mark.parametrize("include_duplicates", [False, True])
def test_relevance_ranked_within_a_window_lists_the_same_pages(
    shared_name_database_url: str,
    ranked_window: _RankedWindow,
    edge_at: str,
    include_duplicates: bool,
) -> None:
    database_url, q = shared_name_database_url, "summit"
    expected = _relevance_reference(database_url, q, include_duplicates=include_duplicates)
    times = _ingest_times(database_url)
    with psycopg.connect(database_url) as conn:
        originals = "" if include_duplicates else "AND duplicate_of IS NULL"
        newest = [
            row[0]
            for row in conn.execute(
                f"SELECT article_id FROM articles WHERE search @@ websearch_to_tsquery('{TEXT_SEARCH_CONFIG}', %s) "
                f"{originals} ORDER BY ingested_at DESC, article_id DESC",
                (q,),
            ).fetchall()
        ]
    assert len(newest) > _RANKED_WINDOW, "more matches than the window ranks"
    assert sorted(expected) == sorted(newest[:_RANKED_WINDOW])
    ranked_window.edge = {
        "beyond_every_article": min(times.values()) - timedelta(days=1),
        "second_newest_match": times[newest[1]],
    }[edge_at]

    listing = ranked_window.listing

    async def listed(conn: AsyncConnection) -> tuple[list[str], list[str], list[str]]:
        filters = ArticleFilters(q=q, include_duplicates=include_duplicates)
        whole = [row.article_id for row in await listing.page(conn, filters, sort="relevance", limit=100)]
        return whole, await _ranked_pages(listing, conn, filters, 2), await _ranked_pages(listing, conn, filters, 1)

    whole, by_two, by_one = _on_read_pool(database_url, listed)
    assert whole == expected
    assert by_two == expected
    assert by_one == expected
    assert all(not r.shape.windowed or r.statement.window_edge == ranked_window.edge for r in listing.ran)
    ran = [(r.shape.windowed, r.ids, r.examined) for r in listing.ran]
    assert ranked_window.asked and all(
        rows > 0 and descending and after is None for rows, descending, after in ranked_window.asked
    ), "first pages only, newest first, sized by the estimate"
    windowed = [position for position, (in_window, _, _) in enumerate(ran) if in_window]
    assert len(windowed) == 3, "every first page tried the window"
    for position in windowed:
        _, ids, ranked = ran[position]
        if edge_at == "beyond_every_article":
            assert ranked == _RANKED_WINDOW, "the window held the newest matches: its ranking is the page"
            assert ids == expected[: len(ids)]
        else:
            assert ranked == 2, "the window held only the two newest matches"
            assert not ran[position + 1][0], "then every match is ranked"


def test_relevance_with_entities_ranks_every_match(shared_name_database_url: str, ranked_window: _RankedWindow) -> None:
    """An entity filter's share is a planner's guess: no window is tried, the newest matches are ranked."""
    listing = ranked_window.listing
    ranked_window.edge = datetime(2000, 1, 1, tzinfo=BASE_TIME.tzinfo)

    async def listed(conn: AsyncConnection) -> list[str]:
        filters = await _route_filters(conn, ["Imran Khan"], q="summit", include_duplicates=False)
        return [row.article_id for row in await listing.page(conn, filters, sort="relevance", limit=100)]

    ids = _on_read_pool(shared_name_database_url, listed)
    assert ids, "the test data has matches"
    assert not ranked_window.asked


def test_relevance_window_is_sized_by_how_common_the_words_are(
    shared_name_database_url: str, ranked_window: _RankedWindow
) -> None:
    """The window comes from the planner's estimate of the matches: a word in one article gets a wider one.

    The listing statements hide the query from the planner (an InitPlan: no estimate to plan with);
    the estimate asked before a relevance page must still see it, or every word would get the
    same window.
    """
    with psycopg.connect(shared_name_database_url, autocommit=True) as conn:
        conn.execute("ANALYZE articles")  # the statistics the estimate reads
        (rare,) = conn.execute(
            "SELECT word FROM ts_stat('SELECT search FROM articles') "
            "WHERE ndoc = 1 AND word ~ '^[a-z]{5,}$' ORDER BY word LIMIT 1"
        ).fetchone() or (None,)
        (common,) = conn.execute(
            "SELECT count(*) FROM articles WHERE search @@ websearch_to_tsquery(%s::regconfig, 'summit')",
            (TEXT_SEARCH_CONFIG,),
        ).fetchone() or (0,)
    assert rare is not None and common >= 4, "the test data has a word in one article and one in several"
    ranked_window.edge = None  # no window: every match is ranked; only the size asked is looked at
    listing = ranked_window.listing

    async def listed(conn: AsyncConnection) -> None:
        for q in ("summit", rare):
            assert await listing.page(conn, ArticleFilters(q=q), sort="relevance", limit=5)

    _on_read_pool(shared_name_database_url, listed)
    (for_common, _, _), (for_rare, _, _) = ranked_window.asked
    assert for_rare > for_common * 2, (for_common, for_rare)


# --- q + entity: the links walk, complete or longer ------------------------------------------------
@pytest.mark.parametrize("walk_rows", [1, 2])
@pytest.mark.parametrize("sort", ["-ingested_at", "ingested_at"])
@pytest.mark.parametrize("names", [["Jordan"], ["Imran Khan"], ["Jordan", "Imran Khan"]])
def test_longer_link_walks_list_the_same_pages(
    shared_name_database_url: str,
    names: list[str],
    sort: ArticleSort,
    walk_rows: int,
) -> None:
    """A short walk that found a match but not a page is followed by a longer one, which ends the
    listing when it fills the page or reads every link the group has (fewer than it may); one that
    found nothing leaves it to the index. Either way the pages are the plain-SQL reference's."""
    database_url, q = shared_name_database_url, "summit"
    expected = _reference_ids(database_url, names, q=q, sort=sort, include_duplicates=False)
    assert len(expected) >= 2, "the test data has matches"
    # Any match found walks on.
    listing = _Traced(ListingTuning(search_walk_rows=walk_rows, link_walk_max_growth=1_000))

    def ran() -> list[tuple[str, int, int | None, int, int]]:
        return [(r.plan, r.walk, r.examined, len(r.ids), r.request.limit) for r in listing.ran]

    async def whole(conn: AsyncConnection) -> list[str]:
        filters = await _route_filters(conn, names, q=q, include_duplicates=False)
        return [row.article_id for row in await listing.page(conn, filters, sort=sort, limit=100)]

    assert _on_read_pool(database_url, whole) == expected
    (plan, walk, _, found, _), *rest = ran()
    assert (plan, walk) == ("links", walk_rows), "the short walk first"
    if found:
        # A page of 100 is more than every match: the longer walk ends by reading every link.
        assert len(rest) == 1, "the longer walk alone follows"
        plan, walk, examined, found, limit = rest[0]
        assert plan == "links" and walk > walk_rows and found < limit
        assert examined is not None and examined < walk, "it read fewer links than it may: all of them"
    else:
        assert [statement[0] for statement in rest] == ["bitmap"], "nothing found: the index"

    async def paged(conn: AsyncConnection) -> list[str]:
        filters = await _route_filters(conn, names, q=q, include_duplicates=False)
        return await _paged_ids(listing, conn, filters, sort, 2)

    listing.ran.clear()
    assert _on_read_pool(database_url, paged) == expected
    statements = ran()
    for position, (plan, walk, examined, found, limit) in enumerate(statements):
        if plan != "links" or walk == walk_rows:
            continue
        after = statements[position + 1][:2] if position + 1 < len(statements) else None
        if found >= limit or (examined is not None and examined < walk):
            assert after in (None, ("links", walk_rows)), "a page, or every link read: the page is done"
        else:
            assert after is not None and after[0] == "bitmap", "neither: the index takes over"


# --- sort=-source: every plan lists what plain SQL lists ------------------------------------------
@pytest.mark.parametrize("walk_rows", [1, 100])
@pytest.mark.parametrize(
    ("archive", "names", "q"),
    [
        ("seeded", [], None),
        ("seeded", [], "Imran Khan"),
        ("shared_name", ["Jordan"], None),
        ("shared_name", [], "summit"),
        ("shared_name", ["Jordan"], "summit"),
    ],
)
def test_source_sort_lists_what_plain_sql_lists(
    request: pytest.FixtureRequest, archive: str, names: list[str], q: str | None, walk_rows: int
) -> None:
    """Sources descending (any case, none last), ties by id: whole and paged, walked or from the index."""
    database_url: str = request.getfixturevalue(_ARCHIVES[archive])
    listing = _Traced(ListingTuning(search_walk_rows=walk_rows))

    async def listed(conn: AsyncConnection) -> dict[bool, tuple[list[str], list[str], list[str]]]:
        result = {}
        for duplicates in (False, True):
            filters = await _route_filters(conn, names, q=q, include_duplicates=duplicates)
            whole = [row.article_id for row in await listing.page(conn, filters, sort="-source", limit=100)]
            by_two = await _paged_ids(listing, conn, filters, "-source", 2)
            result[duplicates] = (whole, by_two, await _paged_ids(listing, conn, filters, "-source", 1))
        return result

    found = _on_read_pool(database_url, listed)
    for duplicates in (False, True):
        expected = _reference_ids(database_url, names, q=q, sort="-source", include_duplicates=duplicates)
        assert len(expected) >= 2, "the test data has articles to order"
        assert found[duplicates] == (expected,) * 3, f"include_duplicates={duplicates}"
    if q is not None:
        assert {ran.plan for ran in listing.ran} & {"walk", "bitmap"}, "a search's plans answered"
