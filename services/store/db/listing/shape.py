"""A listing's shape: which filters and which access path a statement uses, never their values.

One SQL text per shape (``sql.listing_sql`` caches them); the planner decides the access path
(``Access``) and the executor binds the values.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from services.store.db.listing.sorts import SORTS, ArticleSort, SortSpec


class Access(StrEnum):
    """How a statement finds its page's articles."""

    # The planner's choice over the sort's index and the filters' conditions.
    PLAIN = ""
    # A search tested on the first ``%(walk)s`` articles in sort order (bounded).
    WALK = "walk"
    # A search's matches taken from the GIN index and sorted (optionally within a window).
    BITMAP = "bitmap"
    # An entity group's articles read off its links in ingest order (bounded with q).
    LINKS = "links"


@dataclass(frozen=True)
class ListingShape:
    """Which filters a listing statement uses, and how it reads them."""

    sort: ArticleSort
    include_duplicates: bool
    q: bool
    entity_groups: int
    # The plain filters used (filters.FILTERS names, in registry order).
    filters: tuple[str, ...] = ()
    # The entity group fetched by article id (few articles: see planner.driving_group).
    driving_group: int | None = None
    after: bool = False
    # sort=relevance: later pages rank the window the first page ranked (its floor in the cursor).
    window_floor: bool = False
    access: Access = Access.PLAIN
    # LINKS: the group whose links are read, and how many entity ids it has (one branch each).
    link_group: int | None = None
    link_ids: int = 0
    # BITMAP and relevance: only the matches within an ingest-time window (``%(window_edge)s``).
    windowed: bool = False
    # Entity groups tested on the article's own ids (articles.entity_ids, GIN-indexed), not its links.
    keyed: bool = False

    @property
    def order(self) -> SortSpec:
        return SORTS[self.sort]

    @property
    def search_plan(self) -> str:
        """The access path's name (as the statements are labelled in tests and traces)."""
        return self.access.value
