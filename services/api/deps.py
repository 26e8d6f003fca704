"""The read API's dependencies, defined once: the one read pool, the listing and the facets' sample size.

Every route reads the database through ``ReadDb`` (the app's ``ReadPool``: asynchronous psycopg,
read-only, autocommit); the ``/health`` probe alone asks on its own connection in a thread, so
that a stalled server cannot hang it (``api.probe``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.store.db.listing import Listing
from services.store.db.reader import ReadPool


async def read_pool(request: Request) -> ReadPool:
    """The app's read pool (see ``services.store.db.reader``)."""
    pool: ReadPool = request.app.state.read_pool
    return pool


async def article_listing(request: Request) -> Listing:
    """The app's listing executor, with its tuning and statistics (see ``services.store.db.listing``)."""
    listing: Listing = request.app.state.listing
    return listing


async def facet_sample_articles(request: Request) -> int:
    """About how many matches the facets count when there are many (``Settings.facet_sample_articles``)."""
    articles: int = request.app.state.facet_sample_articles
    return articles


ReadDb = Annotated[ReadPool, Depends(read_pool)]
ArticleListing = Annotated[Listing, Depends(article_listing)]
FacetSampleArticles = Annotated[int, Depends(facet_sample_articles)]
