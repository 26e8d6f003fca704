"""The listing planner's choices, as pure functions: no Postgres, no executor.

Each plan family is reached from a request shape, a statistics snapshot (a fixed ingest-time
window) and a tuning; what follows a statement is decided from what it found. That every family
lists the same rows as plain SQL is tested against Postgres in ``tests/store/test_listings.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from services.store.db.listing import ArticleFilters, ArticleSort, ListingTuning
from services.store.db.listing.planner import (
    EstimateKind,
    ListingRequest,
    Outcome,
    Stage,
    Statement,
    driving_group,
    estimate_wanted,
    first_statement,
    longer_link_walk,
    longer_walk,
    next_statement,
    plan_shape,
)
from services.store.db.listing.shape import Access

TUNING = ListingTuning()
EDGE = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass
class _Windows:
    """A statistics snapshot: the archive's size and a fixed window edge (None: no window)."""

    archive: float = 100_000.0
    edge: datetime | None = EDGE
    asked: list[tuple[float, bool, datetime | None]] = field(default_factory=list)

    def window_edge(self, rows: float, *, descending: bool, after: datetime | None) -> datetime | None:
        self.asked.append((rows, descending, after))
        return self.edge


def _first(
    filters: ArticleFilters,
    sort: ArticleSort = ArticleSort.newest_ingested,
    *,
    limit: int = 21,
    windows: _Windows | None = None,
    share: float | None = None,
    tuning: ListingTuning = TUNING,
    **position: tuple[object, str],
) -> tuple[ListingRequest, Statement | None]:
    request = ListingRequest(filters, sort, limit, position.get("after"), position.get("window_floor"))
    return request, first_statement(request, plan_shape(request), windows or _Windows(), share, tuning)


def _wanted(filters: ArticleFilters, sort: ArticleSort, *, archive: float = 100_000.0, **position: tuple[object, str]):
    request = ListingRequest(filters, sort, 21, position.get("after"), position.get("window_floor"))
    return estimate_wanted(request, plan_shape(request), _Windows(archive=archive), TUNING)


def _next(request: ListingRequest, done: Statement, found: int, examined: int | None = None, **given: object):
    windows = given.get("windows") or _Windows()
    assert isinstance(windows, _Windows)
    return next_statement(request, windows, TUNING, done, Outcome(found, examined))


JORDAN = ArticleFilters(entity_ids=[["e1", "e2"]], entity_counts=[400], archive_estimate=100_000)


# --- the plain listing and the driving entity ------------------------------------------------------
@pytest.mark.parametrize("sort", [ArticleSort.newest_ingested, ArticleSort.oldest_published])
def test_a_listing_without_search_or_entities_is_one_plain_statement(sort: ArticleSort) -> None:
    request, statement = _first(ArticleFilters(sources=["Wire"]), sort)
    assert statement is not None and (statement.stage, statement.shape.access) == (Stage.FINAL, Access.PLAIN)
    assert statement.shape.filters == ("source",)
    assert _next(request, statement, found=0) is None


def test_an_entity_nobody_mentions_runs_nothing() -> None:
    assert _first(ArticleFilters(entity_ids=[["e1"], []]))[1] is None


def test_relevance_without_q_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a query"):
        _first(ArticleFilters(), ArticleSort.relevance)


def test_a_rare_entity_drives_by_id_a_common_one_does_not() -> None:
    rare = ArticleFilters(entity_ids=[["e1"], ["e2"]], entity_counts=[5_000, 40], archive_estimate=100_000)
    assert driving_group(rare, 21) == 1, "40 x 40 < 21 x 100,000"
    common = ArticleFilters(entity_ids=[["e1"]], entity_counts=[50_000], archive_estimate=100_000)
    assert driving_group(common, 21) is None
    assert driving_group(ArticleFilters(entity_ids=[["e1"]]), 21) is None, "counts unknown"
    _, statement = _first(rare, ArticleSort.newest_published)
    assert statement is not None and statement.shape.driving_group == 1 and statement.stage is Stage.FINAL


# --- entities by ingest time: the links, keyed or walked ------------------------------------------
def test_entities_by_ingest_time_read_the_rarest_groups_links() -> None:
    filters = ArticleFilters(entity_ids=[["e1"], ["e2", "e3"]], entity_counts=[900, 30], archive_estimate=100_000)
    request, statement = _first(filters)
    assert statement is not None and statement.stage is Stage.LINKS
    assert (statement.shape.link_group, statement.shape.link_ids) == (1, 2)
    assert _next(request, statement, found=3) is None, "without q the links are the page, however few"


def test_a_rare_word_with_entities_is_keyed_a_common_one_walks_the_links() -> None:
    filters = ArticleFilters(q="summit", entity_ids=[["e1"]], entity_counts=[400], archive_estimate=100_000)
    assert _wanted(filters, ArticleSort.newest_ingested) is EstimateKind.LEXEMES
    assert _wanted(filters, ArticleSort.newest_ingested, archive=100) is None, "a small archive: no estimate"
    assert (
        _wanted(ArticleFilters(q="summit", entity_ids=[["e1"]], sources=["Wire"]), ArticleSort.newest_ingested) is None
    )
    request, keyed = _first(filters, share=TUNING.keyed_search_max_share / 2)
    assert keyed is not None and keyed.stage is Stage.KEYED and keyed.shape.keyed
    assert keyed.shape.access is Access.BITMAP and keyed.shape.driving_group is None
    assert _next(request, keyed, found=0) is None, "exact whatever it found"
    _, walked = _first(filters, share=TUNING.keyed_search_max_share * 2)
    assert walked is not None and walked.stage is Stage.LINKS


def test_a_link_walk_short_of_a_page_walks_every_link_then_a_window_then_the_index() -> None:
    filters = ArticleFilters(q="summit", entity_ids=[["e1"]], entity_counts=[400], archive_estimate=100_000)
    windows = _Windows()
    request, links = _first(filters, windows=windows)
    assert links is not None and links.walk == TUNING.search_walk_rows
    assert _next(request, links, found=21) is None, "a page"
    assert _next(request, links, found=5, examined=120) is None, "every link read (fewer than the walk)"
    longer = _next(request, links, found=10, examined=TUNING.search_walk_rows)
    assert longer is not None and longer.stage is Stage.LONGER_LINKS
    assert longer.walk == 400 + TUNING.link_count_slack
    window = _next(request, longer, found=10, examined=longer.walk, windows=windows)
    assert window is not None and window.stage is Stage.WINDOW and window.window_edge == EDGE
    share = 10 / TUNING.search_walk_rows * 400 / windows.archive  # the entity's share of the archive
    assert windows.asked[-1][0] == pytest.approx(21 * TUNING.window_pages / share)
    final = _next(request, window, found=3)
    assert final is not None and (final.stage, final.shape.access, final.shape.windowed) == (
        Stage.FINAL,
        Access.BITMAP,
        False,
    )


def test_a_small_group_with_no_match_in_its_links_has_none() -> None:
    filters = ArticleFilters(q="summit", entity_ids=[["e1"]], entity_counts=[40], archive_estimate=100_000)
    request, links = _first(filters)
    assert links is not None
    assert _next(request, links, found=0, examined=None) is None, "40 links, fewer than the walk read"


# --- a search by date: the walk, a longer walk, a window, the index -------------------------------
def test_a_search_walks_first_and_a_page_found_ends_it() -> None:
    request, walk = _first(ArticleFilters(q="market"), windows=_Windows(archive=100))
    assert walk is not None and (walk.stage, walk.shape.access) == (Stage.WALK, Access.WALK)
    assert _next(request, walk, found=21) is None


def test_a_short_walk_by_ingest_time_reads_a_window_sized_by_what_it_found() -> None:
    windows = _Windows(archive=100)
    request, walk = _first(ArticleFilters(q="market"), windows=windows)
    assert walk is not None
    window = _next(request, walk, found=15, windows=windows)
    assert window is not None and window.stage is Stage.WINDOW and window.shape.windowed
    assert windows.asked == [(21 * TUNING.window_pages / (15 / TUNING.search_walk_rows), True, None)]
    nothing = _next(request, walk, found=0, windows=windows)
    assert nothing is not None and (nothing.stage, nothing.shape.access) == (Stage.FINAL, Access.BITMAP)
    no_window = _next(request, walk, found=15, windows=_Windows(archive=100, edge=None))
    assert no_window is not None and no_window.stage is Stage.FINAL


def test_a_large_archive_estimates_first_and_skips_a_walk_that_would_not_fill_the_page() -> None:
    filters = ArticleFilters(q="amazon")
    assert _wanted(filters, ArticleSort.newest_ingested) is EstimateKind.MATCHES
    assert _wanted(filters, ArticleSort.newest_published) is None, "by date published: always walk first"
    assert _wanted(ArticleFilters(q="amazon", story="s1"), ArticleSort.newest_ingested) is None
    _, skipped = _first(filters, share=0.001)
    assert skipped is not None and skipped.stage is Stage.WINDOW, "0.3 matches expected in the walk"
    _, walked = _first(filters, share=0.5)
    assert walked is not None and walked.stage is Stage.WALK


def test_a_short_walk_by_publication_date_walks_further_then_takes_the_index() -> None:
    request, walk = _first(ArticleFilters(q="market"), ArticleSort.newest_published)
    assert walk is not None and walk.stage is Stage.WALK
    longer = _next(request, walk, found=10)
    assert longer is not None and longer.stage is Stage.LONGER_WALK
    assert longer.walk == longer_walk(10, TUNING.search_walk_rows, 21, 100_000.0, TUNING)
    final = _next(request, longer, found=20)
    assert final is not None and (final.stage, final.shape.access) == (Stage.FINAL, Access.BITMAP)
    assert _next(request, longer, found=21) is None


# --- relevance -----------------------------------------------------------------------------------
def test_relevance_ranks_a_window_when_the_estimate_sizes_one() -> None:
    filters = ArticleFilters(q="servic")
    assert _wanted(filters, ArticleSort.relevance) is EstimateKind.MATCHES
    assert _wanted(filters, ArticleSort.relevance, window_floor=(EDGE, "a1")) is None, "later pages keep the floor"
    assert _wanted(ArticleFilters(q="servic", entity_ids=[["e1"]]), ArticleSort.relevance) is None
    request, ranked = _first(filters, ArticleSort.relevance, share=0.1)
    assert ranked is not None and ranked.stage is Stage.RANKED_WINDOW and ranked.shape.windowed
    assert _next(request, ranked, found=21, examined=TUNING.relevance_window) is None
    every = _next(request, ranked, found=21, examined=TUNING.relevance_window - 1)
    assert every is not None and every.stage is Stage.FINAL and not every.shape.windowed
    _, rare = _first(filters, ArticleSort.relevance, share=1e-5)
    assert rare is not None and rare.stage is Stage.FINAL, "the window would span most of the archive"
    _, unknown = _first(filters, ArticleSort.relevance, share=None)
    assert unknown is not None and unknown.stage is Stage.FINAL


# --- the measured cost functions -------------------------------------------------------------------
def test_longer_walk_when_no_match_was_found_is_the_index() -> None:
    assert longer_walk(0, 300, 21, 1e9, TUNING) is None


def test_longer_walk_never_goes_past_the_longest_walk() -> None:
    # 1 match in 300: a page of 101 needs ~30,300 articles walked, though walking would still cost
    # less than the index over a billion articles.
    walked, limit, population = 300, 101, 1e9
    share = 1 / walked
    assert limit / share * TUNING.walk_us_per_article < share * population * TUNING.index_us_per_match
    assert limit / share > TUNING.longest_walk
    assert longer_walk(1, walked, limit, population, TUNING) is None


def test_longer_walk_is_the_index_when_the_matches_are_few() -> None:
    found, walked, limit = 150, 300, 21
    share = found / walked
    walk_cost = limit / share * TUNING.walk_margin * TUNING.walk_us_per_article
    population = walk_cost / (share * TUNING.index_us_per_match) / 2  # the index costs half the walk
    assert longer_walk(found, walked, limit, population, TUNING) is None
    assert longer_walk(found, walked, limit, population * 4, TUNING) is not None


@pytest.mark.parametrize(
    ("found", "walked", "limit", "population"),
    [(30, 300, 21, 1e5), (3, 300, 101, 1e7), (300, 300, 101, 1e5), (1, 1, 3, 100.0)],
)
def test_longer_walk_when_walking_is_cheaper(found: int, walked: int, limit: int, population: float) -> None:
    rows = longer_walk(found, walked, limit, population, TUNING)
    assert rows is not None
    assert rows >= limit * walked / found, "far enough to hold a page at the share the short walk saw"
    assert rows <= TUNING.longest_walk


def test_longer_link_walk_needs_a_third_of_a_page() -> None:
    assert longer_link_walk(6, 21, 500, TUNING) is None
    assert longer_link_walk(7, 21, 500, TUNING) == 500 + TUNING.link_count_slack


def test_longer_link_walk_reads_every_link_of_a_small_group() -> None:
    assert longer_link_walk(20, 21, 1_400, TUNING) == 1_400 + TUNING.link_count_slack


def test_longer_link_walk_is_the_index_for_a_large_or_unknown_group() -> None:
    largest = TUNING.longest_link_walk - TUNING.link_count_slack
    assert longer_link_walk(20, 21, largest, TUNING) is not None
    assert longer_link_walk(20, 21, largest + 1, TUNING) is None
    assert longer_link_walk(20, 21, None, TUNING) is None
