"""The share of the archive a search is expected to match, from the lexeme statistics (``search_estimate``).

The combining rules are checked on hand-built frequencies; the whole estimate against the
planner's own (``EXPLAIN``) on a real database after ANALYZE, for every operator websearch
syntax produces.
"""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from services.store.db.listing.search_estimate import DEFAULT_LEXEME_SHARE, LexemeStatistics
from services.store.db.models import TEXT_SEARCH_CONFIG
from shared.db import libpq_url

FREQUENCIES = {"nuclear": 0.1, "test": 0.2, "trump": 0.5, "o'neil": 0.3}
LEAST = 0.004  # a lexeme not listed: half of it


def _statistics(original_share: float = 1.0) -> LexemeStatistics:
    return LexemeStatistics(frequencies=dict(FREQUENCIES), least_frequency=LEAST, original_share=original_share)


@pytest.mark.parametrize(
    ("tsquery", "expected"),
    [
        ("'nuclear'", 0.1),
        ("'unlisted'", LEAST / 2),
        ("'nuclear' & 'test'", 0.1 * 0.2),
        ("'nuclear' <-> 'test'", 0.1 * 0.2),
        ("'nuclear' <2> 'test'", 0.1 * 0.2),
        ("'nuclear' | 'test'", 0.1 + 0.2 - 0.1 * 0.2),
        ("!'trump'", 0.5),
        ("'nuclear' & !'test'", 0.1 * 0.8),
        # ! binds tightest, then phrase, then &, then |: a | (b & (c <-> d)).
        ("'trump' | 'nuclear' & 'test' <-> 'o''neil'", 0.5 + 0.1 * 0.2 * 0.3 - 0.5 * (0.1 * 0.2 * 0.3)),
        ("( 'trump' | 'nuclear' ) & 'test'", (0.5 + 0.1 - 0.05) * 0.2),
        ("'nuclear':* & 'test':AB", 0.1 * 0.2),
    ],
)
def test_shares_combine_as_the_planner_combines_them(tsquery: str, expected: float) -> None:
    assert _statistics().share(tsquery, originals_only=False) == pytest.approx(expected)


def test_originals_only_takes_the_share_of_originals() -> None:
    assert _statistics(original_share=0.9).share("'nuclear'", originals_only=True) == pytest.approx(0.09)
    assert _statistics(original_share=0.9).share("'nuclear'", originals_only=False) == pytest.approx(0.1)


def test_an_unlisted_lexeme_never_exceeds_the_default() -> None:
    statistics = LexemeStatistics(frequencies={"a": 0.5}, least_frequency=0.5)
    assert statistics.share("'b'", originals_only=False) == DEFAULT_LEXEME_SHARE


@pytest.mark.parametrize("tsquery", ["", "   ", "'nuclear' &", "( 'nuclear'", "'nuclear' )", "& 'nuclear'", "nuclear"])
def test_no_share_for_text_it_cannot_read(tsquery: str) -> None:
    assert _statistics().share(tsquery, originals_only=False) is None


def test_no_share_without_statistics() -> None:
    assert LexemeStatistics().share("'nuclear'", originals_only=False) is None


# --- against the planner, on a real database -----------------------------------------------------------
QUERIES = [
    "Imran Khan",
    '"Imran Khan" Pakistan',
    "Tuberville OR Khan",
    "Pakistan -Tuberville",
    "nuclear testing",
    "summit",  # in no seed: a lexeme without statistics
]


def test_the_share_is_the_planners_estimate(seeded_database_url: str) -> None:
    """After ANALYZE, share x archive is the planner's row estimate (rounded as the planner rounds)."""
    url = libpq_url(seeded_database_url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE articles")
        (archive,) = conn.execute("SELECT reltuples FROM pg_class WHERE oid = 'articles'::regclass").fetchone() or (0,)
        assert archive > 0
        expected = {}
        for q in QUERIES:
            tsquery = f"websearch_to_tsquery('{TEXT_SEARCH_CONFIG}'::regconfig, %s)"
            parsed = conn.execute(f"SELECT {tsquery}::text", (q,)).fetchone()
            plan = conn.execute(
                "EXPLAIN (FORMAT JSON) SELECT 1 FROM articles a "
                f"WHERE a.duplicate_of IS NULL AND a.search @@ {tsquery}",
                (q,),
            ).fetchone()
            assert parsed is not None and plan is not None
            expected[q] = (parsed[0], float(plan[0][0]["Plan"]["Plan Rows"]))

    async def refreshed() -> LexemeStatistics:
        statistics = LexemeStatistics()
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await statistics.refresh(conn)
        return statistics

    statistics = asyncio.run(refreshed())
    assert statistics.frequencies, "ANALYZE wrote the search column's most common lexemes"
    assert 0 < statistics.original_share < 1, "the seeds hold reprints"
    for q, (parsed, planner_rows) in expected.items():
        share = statistics.share(parsed, originals_only=True)
        assert share is not None, q
        assert max(1.0, round(share * archive)) == pytest.approx(planner_rows), (q, parsed, share * archive)
