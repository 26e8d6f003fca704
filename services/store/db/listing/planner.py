"""The listing planner: which statement answers a request next. Pure: no I/O, no globals.

``plan_shape`` gives a request's shape; ``estimate_wanted`` says whether the first decision needs
the search's estimated share (the executor asks the statistics for it); ``first_statement`` and
``next_statement`` give the statements to run, each from the request, the statistics, the tuning
and (for the next) what the last statement found. Every statement a plan family runs lists
exactly the rows plain SQL would: a plan that finds too little hands over to the next, never
ends a page short; the estimates only choose which statement runs first.

The families: the plain listing; the driving entity fetched by id; the link walk (short, longer,
then a window or the index); the keyed search (entities' and words' GIN indexes ANDed); the date
search (short walk, longer walk, window or index, optionally estimated first); relevance (a
window of the newest matches, or every match).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from typing import Any, Protocol

from services.store.db.listing.filters import ArticleFilters, Estimate, applied, estimated_by
from services.store.db.listing.shape import Access, ListingShape
from services.store.db.listing.sorts import SORTS, ArticleSort
from services.store.db.listing.tuning import ListingTuning


class IngestWindows(Protocol):
    """What the planner reads of the ingest-time statistics (``ingest_window.IngestHistogram``)."""

    archive: float

    def window_edge(self, rows: float, *, descending: bool, after: datetime | None) -> datetime | None: ...


@dataclass(frozen=True)
class ListingRequest:
    """One listing asked for: filters, sort, page size and where the page starts."""

    filters: ArticleFilters
    sort: ArticleSort
    limit: int
    after: tuple[Any, str] | None = None
    # sort=relevance: the floor of the window the first page ranked.
    window_floor: tuple[Any, str] | None = None

    @property
    def by_ingest_time(self) -> bool:
        return SORTS[self.sort].by_ingest_time


class EstimateKind(Enum):
    """The estimate the first decision needs."""

    # The words' share from the lexeme statistics alone (a search with entities: keyed or linked?).
    LEXEMES = "lexemes"
    # The search's share of the archive, every filter counted (lexemes, else EXPLAIN), at least one article.
    MATCHES = "matches"


class Stage(Enum):
    """Which step of its family a statement is: what follows it depends on it."""

    FINAL = "final"
    KEYED = "keyed"
    LINKS = "links"
    LONGER_LINKS = "longer_links"
    WALK = "walk"
    LONGER_WALK = "longer_walk"
    WINDOW = "window"
    RANKED_WINDOW = "ranked_window"


@dataclass(frozen=True)
class Statement:
    """One statement to run: its shape, its step, and the values the plan (not the request) gives."""

    shape: ListingShape
    stage: Stage
    walk: int
    window_edge: datetime | None = None


@dataclass(frozen=True)
class Outcome:
    """What a statement found: its rows, and how many candidates it went through (see ArticleRow.examined)."""

    found: int
    examined: int | None


def rarest_group(filters: ArticleFilters) -> int:
    """The entity group with the fewest articles (the first when counts are unknown)."""
    if len(filters.entity_counts) != len(filters.entity_ids):
        return 0
    return min(range(len(filters.entity_ids)), key=lambda group: filters.entity_counts[group])


def driving_group(filters: ArticleFilters, limit: int) -> int | None:
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


def plan_shape(request: ListingRequest) -> ListingShape:
    """The request's shape before any access path is chosen."""
    filters = request.filters
    return ListingShape(
        sort=request.sort,
        include_duplicates=filters.include_duplicates,
        q=filters.q is not None,
        entity_groups=len(filters.entity_ids),
        filters=applied(filters),
        driving_group=driving_group(filters, request.limit),
        after=request.after is not None,
        window_floor=request.window_floor is not None,
    )


def matches_are_estimable(shape: ListingShape) -> bool:
    """Whether a search's matches can be estimated well enough to size a window by.

    Not with entity groups, nor with a filter whose estimate is a guess (filters.Estimate.GUESS):
    the lexeme statistics know nothing of them, the planner only guesses.
    """
    return not shape.entity_groups and not estimated_by(shape.filters, Estimate.GUESS)


def lexemes_alone_estimate(shape: ListingShape) -> bool:
    """Whether the lexeme statistics alone estimate the search's share (no plain filter counts)."""
    return not estimated_by(shape.filters, Estimate.PLANNER) and not estimated_by(shape.filters, Estimate.GUESS)


def estimate_wanted(
    request: ListingRequest, shape: ListingShape, windows: IngestWindows, tuning: ListingTuning
) -> EstimateKind | None:
    """The estimate ``first_statement`` needs for this request, if any (its cost is a round trip)."""
    if not shape.q:
        return None
    large = windows.archive >= tuning.estimate_first_min_archive
    if shape.entity_groups and request.by_ingest_time:
        # Keyed or linked: the words' share alone, in a large archive, when nothing else filters.
        return EstimateKind.LEXEMES if large and lexemes_alone_estimate(shape) else None
    if shape.sort is ArticleSort.relevance:
        wanted = not shape.window_floor and matches_are_estimable(shape) and windows.archive > 0
        return EstimateKind.MATCHES if wanted else None
    if request.by_ingest_time and large and matches_are_estimable(shape):
        return EstimateKind.MATCHES
    return None


def first_statement(
    request: ListingRequest, shape: ListingShape, windows: IngestWindows, share: float | None, tuning: ListingTuning
) -> Statement | None:
    """The first statement to run; None when no row can match (an entity nobody mentions).

    ``share``: the estimate ``estimate_wanted`` asked for (None when it did not, or there were no statistics).
    """
    filters = request.filters
    if any(not ids for ids in filters.entity_ids):
        return None
    if shape.sort is ArticleSort.relevance and not shape.q:
        raise ValueError("sort=relevance needs a query")
    walk = tuning.search_walk_rows
    if shape.entity_groups and request.by_ingest_time:
        if share is not None and share < tuning.keyed_search_max_share:
            # Words rare enough that the entity's links would hold few of their matches: every
            # article holding both, from the two GIN indexes, sorted (exact, whatever the cursor).
            keyed = replace(shape, access=Access.BITMAP, keyed=True, driving_group=None)
            return Statement(keyed, Stage.KEYED, walk)
        # An entity's articles in ingest order come straight off its links (index
        # ix_article_entities_entity_ingested_at), the rarest group driving: a page reads about a
        # page of links whatever the entity's size. With q the walk is bounded.
        group = rarest_group(filters)
        links = replace(shape, access=Access.LINKS, link_group=group, link_ids=len(filters.entity_ids[group]))
        return Statement(links, Stage.LINKS, walk)
    if shape.sort is ArticleSort.relevance:
        return _ranked_window(request, shape, windows, share, tuning) or Statement(shape, Stage.FINAL, walk)
    if shape.q:
        # Which plan a date-sorted search needs depends on how common its words are, which
        # Postgres's planner gets right but prices wrongly (it counts testing a search vector as
        # nearly free, while reading it from TOAST costs more than taking a match from the GIN
        # index: 5,420 tests, 38 ms, for "amazon" against ~2 ms from the index). So a short walk
        # is tried first, unless the estimate says it would not fill the page.
        if share is not None and share * walk < request.limit * tuning.walk_fill_margin:
            return _after_short_walk(request, shape, windows, tuning, found=0, population=0.0, estimated=share)
        return Statement(replace(shape, access=Access.WALK), Stage.WALK, walk)
    return Statement(shape, Stage.FINAL, walk)


def next_statement(
    request: ListingRequest, windows: IngestWindows, tuning: ListingTuning, done: Statement, outcome: Outcome
) -> Statement | None:
    """The statement after ``done``, given what it found; None when its rows are the answer."""
    full = outcome.found >= request.limit
    if done.stage in (Stage.FINAL, Stage.KEYED) or (full and done.stage is not Stage.RANKED_WINDOW):
        return None
    shape = replace(done.shape, access=Access.PLAIN, windowed=False, link_group=None, link_ids=0)
    if done.stage is Stage.RANKED_WINDOW:
        # Exact when the window held relevance_window matches: it holds every article newer than
        # its edge. Else the newest of every match are ranked.
        ranked = outcome.found and (outcome.examined or 0) >= tuning.relevance_window
        return None if ranked else Statement(shape, Stage.FINAL, done.walk)
    if done.stage in (Stage.WINDOW, Stage.LONGER_WALK):
        return Statement(replace(shape, access=Access.BITMAP), Stage.FINAL, done.walk)
    if done.stage is Stage.WALK:
        return _after_short_walk(request, shape, windows, tuning, found=outcome.found, population=0.0, estimated=None)
    return _after_links(request, windows, tuning, done, outcome)


def _read_every_link(outcome: Outcome, walk: int) -> bool:
    """Whether a bounded link walk read every link it could (fewer than ``walk``)."""
    return bool(outcome.found) and outcome.examined is not None and outcome.examined < walk


def _after_links(
    request: ListingRequest, windows: IngestWindows, tuning: ListingTuning, done: Statement, outcome: Outcome
) -> Statement | None:
    """After a link walk short of a page: a longer walk, a window or the index."""
    shape, filters = done.shape, request.filters
    if not shape.q or _read_every_link(outcome, done.walk):
        # Every match there is: the walk read fewer links than it may (all the group has past the
        # cursor), which for the rare entities most combined searches name leaves nothing to add.
        return None
    group = shape.link_group if shape.link_group is not None else 0
    count = filters.entity_counts[group] if filters.entity_counts else None
    if done.stage is Stage.LINKS:
        if not shape.include_duplicates and count is not None and count + tuning.link_count_slack <= done.walk:
            # No match at all, but the group has fewer links than the walk read: its entities'
            # original articles are counted exactly, in the writer's transactions.
            return None
        longer = longer_link_walk(outcome.found, request.limit, count, tuning)
        if longer is not None:
            return Statement(shape, Stage.LONGER_LINKS, longer)
    unlinked = replace(shape, access=Access.PLAIN, link_group=None, link_ids=0)
    return _after_short_walk(
        request, unlinked, windows, tuning, found=outcome.found, population=float(count or 0), estimated=None
    )


def _after_short_walk(
    request: ListingRequest,
    shape: ListingShape,
    windows: IngestWindows,
    tuning: ListingTuning,
    *,
    found: int,
    population: float,
    estimated: float | None,
) -> Statement:
    """A search whose short walk found fewer than a page (``found``), or that was estimated (``estimated``).

    By ingest time, with matches found or estimated: the page lies in a window of the newest
    articles (from the cursor on) expected to hold several pages of matches, and only the window's
    matches are read and sorted (see ingest_window). By publication date: a longer walk (it stops
    at the page's last match) when cheaper than the index. Otherwise every match from the index.
    ``population``: how many articles the walk could go through (an entity's; 0: the archive).
    """
    bitmap = replace(shape, access=Access.BITMAP)
    walk = tuning.search_walk_rows
    if request.by_ingest_time and (found or estimated):
        if estimated:
            share = estimated
        else:
            share = found / walk  # of the articles walked: the archive's or an entity's
            if population and windows.archive:
                share *= min(population / windows.archive, 1.0)
        after = request.after[0] if request.after else None
        edge = windows.window_edge(
            request.limit * tuning.window_pages / share, descending=SORTS[shape.sort].descending, after=after
        )
        if edge is not None:
            return Statement(replace(bitmap, windowed=True), Stage.WINDOW, walk, edge)
    elif not request.by_ingest_time:
        longer = longer_walk(found, walk, request.limit, population or windows.archive, tuning)
        if longer is not None:
            return Statement(replace(shape, access=Access.WALK), Stage.LONGER_WALK, longer)
    return Statement(bitmap, Stage.FINAL, walk)


def _ranked_window(
    request: ListingRequest, shape: ListingShape, windows: IngestWindows, share: float | None, tuning: ListingTuning
) -> Statement | None:
    """A first relevance page ranked within a window of the newest articles; None when it needs every match.

    Ranking the newest relevance_window matches took every match from the GIN index and sorted
    them by ingest time: 23 ms for "servic" (12,900 matches of 100k articles); the window's
    matches alone (the GIN bitmap ANDed with the ingest-time index) cost 7.7 ms.
    """
    if share is None:
        return None
    rows = tuning.relevance_window * tuning.ranked_window_margin / share
    if rows > windows.archive * tuning.ranked_window_max_share:
        return None  # matches too few for a window to save much: taking them all is cheap
    edge = windows.window_edge(rows, descending=True, after=None)
    if edge is None:
        return None
    return Statement(replace(shape, windowed=True), Stage.RANKED_WINDOW, tuning.search_walk_rows, edge)


def longer_walk(found: int, walked: int, limit: int, population: float, tuning: ListingTuning) -> int | None:
    """How far to walk for a page when ``walked`` articles held ``found`` matches; None if the GIN index costs less.

    ``population``: how many articles the walk could go through (the archive, or an entity's).
    """
    if found == 0:
        return None  # rarer than 1 in ``walked``: the index holds few matches
    share = found / walked
    rows = math.ceil(limit / share * tuning.walk_margin)
    walk_cost = rows * tuning.walk_us_per_article
    if rows > tuning.longest_walk or walk_cost > share * population * tuning.index_us_per_match:
        return None
    return rows


def longer_link_walk(found: int, limit: int, count: int | None, tuning: ListingTuning) -> int | None:
    """A walk of every link the group has, when the short walk found a good share of a page and they are few.

    A walked link costs ~10 us and the walk stops at the page's last match, so walking a group of
    up to longest_link_walk links costs less than the index's alternative (~15 ms for an entity of
    1,000 articles and a common word). Walking all of them means the walk never ends short of a
    page it could not tell was complete. None when the short walk found less than
    1 / link_walk_max_growth of a page (a share guessed from one or two articles: walking far for
    it cost more than the index, 14 -> 25 ms measured) or the group has too many links.
    """
    if count is None or found * tuning.link_walk_max_growth < limit:
        return None
    rows = count + tuning.link_count_slack
    return rows if tuning.search_walk_rows < rows <= tuning.longest_link_walk else None
