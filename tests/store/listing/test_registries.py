"""The sort and filter registries: every entry complete, so adding one is one entry plus a test.

No Postgres: the entries are checked against the models' indexes, the cursor codec and the SQL
builders; the rows they list are tested in ``tests/store/test_listings.py`` and the API tests.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.api.cursor import decode_cursor, encode_cursor
from services.api.errors import ParameterError
from services.store.db.listing import SORTS, ArticleFilters, ArticleSort
from services.store.db.listing.filters import FILTERS, applied, filter_values
from services.store.db.listing.planner import ListingRequest, plan_shape
from services.store.db.listing.shape import Access
from services.store.db.listing.sql import listing_sql
from services.store.db.models import Base

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# A value each sort's cursor carries, as the route encodes it.
_KEYS: dict[ArticleSort, Any] = {
    ArticleSort.newest_ingested: datetime(2025, 3, 1, 12, tzinfo=UTC),
    ArticleSort.oldest_ingested: datetime(2025, 3, 1, 12, tzinfo=UTC),
    ArticleSort.newest_published: "-infinity",
    ArticleSort.oldest_published: date(2025, 3, 1).isoformat(),
    ArticleSort.relevance: [0.25, datetime(2025, 3, 1, tzinfo=UTC), "a1"],
    ArticleSort.source_desc: "reuters",
}
# Filters that set every plain filter of the registry.
_EVERY_FILTER = ArticleFilters(
    entity_type="PERSON",
    sources=["Wire"],
    story="s1",
    since=date(2025, 1, 1),
    until=date(2025, 2, 1),
    formats=["html"],
)


def test_every_sort_has_one_entry_with_an_index_that_exists() -> None:
    assert set(SORTS) == set(ArticleSort)
    indexes = {index.name for table in Base.metadata.tables.values() for index in table.indexes}
    for sort, spec in SORTS.items():
        assert spec.index in indexes, f"{sort}: no index {spec.index}"


@pytest.mark.parametrize("sort", list(ArticleSort))
def test_every_sorts_cursor_reads_back_and_refuses_another_sorts_key(sort: ArticleSort) -> None:
    token = encode_cursor("articles", sort.value, _KEYS[sort], "a9")
    key, row_id = decode_cursor(token, resource="articles", sort=sort.value)
    assert row_id == "a9"
    assert encode_cursor("articles", sort.value, key, row_id) == token
    forged = encode_cursor("articles", sort.value, {"not": "a key"}, "a9")
    with pytest.raises(ParameterError):
        decode_cursor(forged, resource="articles", sort=sort.value)


def test_undated_articles_carry_the_infinity_their_sort_uses() -> None:
    assert SORTS[ArticleSort.newest_published].cursor_key(None) == "-infinity"
    assert SORTS[ArticleSort.oldest_published].cursor_key(None) == "infinity"
    assert SORTS[ArticleSort.newest_ingested].cursor_key(None) is None


def test_every_filter_applies_only_when_asked_and_binds_what_its_condition_uses() -> None:
    assert applied(ArticleFilters()) == ()
    bound = filter_values(_EVERY_FILTER)
    for spec in FILTERS:
        used = set(_PLACEHOLDER.findall(spec.condition))
        assert used <= set(spec.values(_EVERY_FILTER)), f"{spec.name}: binds {used}"
        assert used <= set(bound)
    assert set(applied(_EVERY_FILTER)) == {spec.name for spec in FILTERS} - {"dated", "undated"}
    assert applied(ArticleFilters(dated=True)) == ("dated",)
    assert applied(ArticleFilters(dated=False)) == ("undated",)


@pytest.mark.parametrize("sort", list(ArticleSort))
@pytest.mark.parametrize("access", list(Access))
def test_every_sort_and_filter_composes_into_sql_with_every_value_bound(sort: ArticleSort, access: Access) -> None:
    """Each access path's statement, for each sort, with every filter and a cursor: no placeholder unbound."""
    filters = ArticleFilters(q="summit", entity_ids=[["e1", "e2"]], sources=["Wire"], story="s1", dated=True)
    request = ListingRequest(filters, sort, 21, after=("k", "a1"))
    shape = plan_shape(request)
    link_group = 0 if access is Access.LINKS else None
    shape = shape.__class__(**{**shape.__dict__, "access": access, "link_group": link_group, "link_ids": 2})
    text = listing_sql(shape).decode()
    bound = {
        "limit", "q", "after_key", "after_id", "floor_at", "floor_id", "snippet_chars", "relevance_window",
        "walk", "window_edge", "entity_ids_0", "link_id_0", "link_id_1", *filter_values(filters),
    }  # fmt: skip
    assert set(_PLACEHOLDER.findall(text)) <= bound
    assert " FROM (" in text and "AS page" in text
