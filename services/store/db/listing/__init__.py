"""The article listing (``GET /articles``): filters and sorts (registries), a pure planner, one executor.

- ``filters`` / ``sorts``: one registry entry per filter and per sort.
- ``shape``: which filters and access path a statement uses; ``sql`` composes its SQL from parts.
- ``planner``: pure functions choosing the statements (request + statistics + tuning -> statement).
- ``statistics`` / ``tuning``: what the planner weighs, injected per application.
- ``executor``: ``Listing``, which runs the statements and reads their rows.
"""

from services.store.db.listing.executor import ArticleRow, Listing
from services.store.db.listing.filters import ArticleFilters
from services.store.db.listing.sorts import SORTS, ArticleSort
from services.store.db.listing.statistics import ListingStatistics
from services.store.db.listing.tuning import ListingTuning

__all__ = ["SORTS", "ArticleFilters", "ArticleRow", "ArticleSort", "Listing", "ListingStatistics", "ListingTuning"]
