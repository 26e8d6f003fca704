"""The count requests ``bench/api.py`` measures (issue 27): facets of a common word, a common entity's 90 days.

Common words are the search column's most frequent stems (from a 5 % sample of the archive's
search vectors), common entities the roots named in the most articles; each request is distinct
(a word, or an entity and a 90-day window starting on a random day of the archive's span), so
nothing is answered twice in a row. Target: p99 < 100 ms at 2 connections for both.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

import httpx
import psycopg

from services.store.db.listing.filters import ArticleFilters
from services.store.db.queries.facets import EntityCount, Facet, count_facets

TARGET_P99_MS = 100.0
COMMON_WORDS = 60
COMMON_ENTITIES = 30
TIMELINE_DAYS = 90
TIMELINE_REQUESTS = 400

FACET_ENTITY = "facets: entity, common word"
FACET_SOURCE_DAY = "facets: source + day, common word"
TIMELINE = "timeline: 90 days of a common entity"
COUNT_SHAPES = (FACET_ENTITY, FACET_SOURCE_DAY, TIMELINE)
EXACT_REQUESTS = 10


def common_words(url: str) -> list[tuple[str, float]]:
    """The most frequent stems of four letters or more, with the share of articles they are in."""
    with psycopg.connect(url) as conn:
        sampled = conn.execute("SELECT count(*) FROM articles TABLESAMPLE SYSTEM (5) REPEATABLE (27)").fetchone()
        rows = conn.execute(
            "SELECT word, ndoc FROM ts_stat('SELECT search FROM articles TABLESAMPLE SYSTEM (5) REPEATABLE (27)') "
            "WHERE length(word) >= 4 AND word ~ '^[a-z]+$' ORDER BY ndoc DESC, word LIMIT %s",
            (COMMON_WORDS,),
        ).fetchall()
    size = max(1, sampled[0] if sampled else 1)
    return [(word, ndoc / size) for word, ndoc in rows]


def target_p99_ms(shape: str, listing_target: float) -> float:
    """A shape's p99 target: the counts' own, or the listing's."""
    return TARGET_P99_MS if shape in COUNT_SHAPES else listing_target


def exact_entity_facet_ms(api: str, url: str) -> list[float]:
    """Milliseconds of ``exact=true`` entity facets of the commonest words, one at a time (informative)."""
    times = []
    with httpx.Client(base_url=api, timeout=60) as client:
        for word, _ in common_words(url)[:EXACT_REQUESTS]:
            started = time.perf_counter()
            client.get("/articles/facets", params={"q": word, "facet": "entity", "exact": "true"}).raise_for_status()
            times.append((time.perf_counter() - started) * 1000.0)
    return times


@dataclass(frozen=True)
class SampleAccuracy:
    """Sampled entity facets of the commonest words against the same facets counted exactly."""

    words: int
    counts_inside: int  # sampled top-10 counts whose exact value is within their 95 % margin
    counts: int
    totals_inside: int
    top_overlap: int  # of words x 10: entities in both the sampled and the exact top 10


def sample_accuracy(url: str, sample_articles: int, words: int = EXACT_REQUESTS) -> SampleAccuracy:
    """How the default sample's estimates compare with exact counts (straight from the queries, no timeout)."""
    return asyncio.run(_sample_accuracy(url, sample_articles, [w for w, _ in common_words(url)[:words]]))


async def _sample_accuracy(url: str, sample_articles: int, words: list[str]) -> SampleAccuracy:
    inside = total = totals_inside = overlap = 0
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for word in words:
            filters = ArticleFilters(q=word)
            sampled = await count_facets(conn, filters, [Facet.entity], 10, sample_articles)
            exact = await count_facets(conn, filters, [Facet.entity], 10, None)
            wide = await count_facets(conn, filters, [Facet.entity], 100, None)
            every = {value.id: value.count for value in wide.counts[Facet.entity] if isinstance(value, EntityCount)}
            estimated = [value for value in sampled.counts[Facet.entity] if isinstance(value, EntityCount)]
            exact_top = {value.id for value in exact.counts[Facet.entity] if isinstance(value, EntityCount)}
            overlap += len({value.id for value in estimated} & exact_top)
            totals_inside += abs(sampled.total - exact.total) <= (sampled.total_margin or 0)
            for value in estimated:
                if value.id in every:
                    total += 1
                    inside += abs(value.count - every[value.id]) <= (value.margin or 0)
    return SampleAccuracy(len(words), inside, total, totals_inside, overlap)


def count_shapes(url: str) -> dict[str, list[str]]:
    """Each count shape's distinct request paths."""
    rng = random.Random(27)
    words = [word for word, _ in common_words(url)]
    with psycopg.connect(url) as conn:
        names = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM entities WHERE canonical_id IS NULL ORDER BY group_article_count DESC, id LIMIT %s",
                (COMMON_ENTITIES,),
            )
        ]
        first, last = conn.execute("SELECT min(published_at), max(published_at) FROM articles").fetchone() or (
            None,
            None,
        )
    timelines = []
    if first is not None and last is not None:
        span = max(1, (last - first).days - TIMELINE_DAYS)
        for _ in range(TIMELINE_REQUESTS):
            since = first + timedelta(days=rng.randrange(span))
            until = since + timedelta(days=TIMELINE_DAYS - 1)
            params = {"entity": rng.choice(names), "since": since.isoformat(), "until": until.isoformat()}
            timelines.append(f"/articles/timeline?{urlencode(params)}")
    return {
        FACET_ENTITY: [f"/articles/facets?{urlencode({'q': w, 'facet': 'entity'})}" for w in words],
        FACET_SOURCE_DAY: [
            f"/articles/facets?{urlencode([('q', w), ('facet', 'source'), ('facet', 'day')])}" for w in words
        ],
        TIMELINE: timelines,
    }
