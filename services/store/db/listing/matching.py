"""The set of articles a request's filters match: one condition on ``articles a`` and its bound values.

The listing pages through this set; the counts (facets, timelines) aggregate over it. Both read
the filters from the same registry (``filters``) and the same condition builder
(``sql.conditions``), so a count and a listing never disagree on which articles match.
"""

from __future__ import annotations

from typing import Any

from services.store.db.listing.filters import ArticleFilters, applied, filter_values
from services.store.db.listing.shape import ListingShape
from services.store.db.listing.sorts import ArticleSort
from services.store.db.listing.sql import conditions


def matching_values(filters: ArticleFilters) -> dict[str, Any]:
    """Every value the filters' conditions bind: the search, the plain filters, each entity group's ids."""
    values: dict[str, Any] = {"q": filters.q, **filter_values(filters)}
    values.update({f"entity_ids_{group}": list(ids) for group, ids in enumerate(filters.entity_ids)})
    return values


def matching_condition(filters: ArticleFilters) -> str:
    """The filters as one condition on ``articles a`` (values bound by name: see ``matching_values``).

    The shape is the plain one (no access path, no cursor; entity groups keyed): a count reads every match, so the
    listing's choices of how to reach a page's first rows do not apply. The sort is irrelevant to
    the conditions; any one will do.
    """
    shape = ListingShape(
        sort=ArticleSort.newest_ingested,
        include_duplicates=filters.include_duplicates,
        q=filters.q is not None,
        entity_groups=len(filters.entity_ids),
        filters=applied(filters),
        # Entity groups on the article's own GIN-indexed ids: a BitmapAnd with a date range or a
        # search, where an EXISTS over the links became a hash join over every link of the group.
        keyed=True,
    )
    return "\n  AND ".join(conditions(shape))
