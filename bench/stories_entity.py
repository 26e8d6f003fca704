"""``/stories?entity=`` for an entity named in 10,000 articles (issue 19): latency, and 24 at once.

    .venv/bin/python -m bench.stories_entity [--articles 30000] [--common 10000] [--requests 200] [--no-write]

1. Stores ``--articles`` synthetic articles through the store's own writer (``upsert_articles``) in
   a scratch database: stories of 1-6 articles, each article naming 3-6 entities from a pool of
   500, and ``--common`` of them also naming "Leeds" (so it is in ~1,600 stories as well).
2. Serves the API (uvicorn, one worker, in this process's thread) and asks, one at a time,
   ``/stories?entity=Leeds`` (first pages and the pages after them via the cursor) and the same
   for rare entities: p50 and p99 per shape. Target: p99 < 200 ms for the common entity.
3. Sends 24 ``/stories?entity=Leeds`` at once while asking ``/health`` every 100 ms: how long the
   burst takes, and whether ``/health`` stayed 200 (it answered 503 before, as the read pool filled).

Writes its section of docs/benchmarks.md (``--no-write`` to only print).
"""

from __future__ import annotations

import argparse
import random
import statistics
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import httpx
import psycopg
import uvicorn

from bench.common import machine_line, scratch_database, write_section
from services.api.app import create_app
from services.embedded import free_port
from services.store.db.queries import stories as story_queries
from services.store.db.session import make_writer_engine
from services.store.db.writes import upsert_articles
from shared.config import Settings
from shared.events import EnrichedArticle, EntityRef, EntityType, RawArticle
from shared.identity import article_id, entity_id, sha256_hex, story_id

COMMON_ENTITY = ("LOCATION", "Leeds")
POOL_ENTITIES = 500
LOAD_BATCH = 1000
TARGET_P99_MS = 200.0
BURST = 24
_WORDS = [
    *("council", "plan", "vote", "budget", "school", "road", "police", "court", "market", "energy"),
    *("water", "rail", "bridge", "housing", "city", "report", "minister", "health", "union", "strike"),
    *("weather", "flood", "storm", "hospital", "airport", "factory", "bank", "trade"),
]
_TYPES: tuple[EntityType, ...] = ("PERSON", "ORG", "LOCATION")


def generate(count: int, common: int, seed: int = 19) -> Iterator[EnrichedArticle]:
    rng = random.Random(seed)
    pool = [(rng.choice(_TYPES), f"Entity {n:03d}") for n in range(POOL_ENTITIES)]
    with_common = set(rng.sample(range(count), common))
    base = datetime(2025, 1, 1, tzinfo=UTC)
    story, left_in_story = "", 0
    for i in range(count):
        if left_in_story == 0:
            story, left_in_story = story_id(f"bench-story-{i}"), rng.randint(1, 6)
        left_in_story -= 1
        named = rng.sample(pool, rng.randint(3, 6)) + ([COMMON_ENTITY] if i in with_common else [])
        body = " ".join(rng.choice(_WORDS) for _ in range(120)) + " " + " ".join(name for _, name in named) + "."
        name = f"bench/stories/{i:06d}.txt"
        digest = sha256_hex(f"{name}\n{body}".encode())
        ingested = base + timedelta(seconds=i)
        raw = RawArticle(
            article_id=article_id(name, digest),
            source_file=name,
            sha256=digest,
            size_bytes=len(body),
            content_type="text",
            title=f"Report {i}",
            body=body,
            published_at=date(2024, 1, 1) + timedelta(days=i % 400),
            source=rng.choice(["Reuters", "AP", "AFP", "BBC"]),
            received_at=ingested,
            ingested_at=ingested,
        )
        entities = [
            EntityRef(id=entity_id(kind, label), name=label, type=kind, mentions=[label], count=1)
            for kind, label in named
        ]
        yield EnrichedArticle(
            article=raw,
            entities=entities,
            content_hash=sha256_hex(body.encode()),
            story_id=story,
            enriched_at=ingested,
        )


def load(url: str, count: int, common: int) -> None:
    engine = make_writer_engine(Settings(database_url=url, db_statement_timeout_ms=600_000))
    batch: list[EnrichedArticle] = []
    for event in generate(count, common):
        batch.append(event)
        if len(batch) == LOAD_BATCH:
            with engine.begin() as conn:
                upsert_articles(conn, batch)
            batch = []
    if batch:
        with engine.begin() as conn:
            upsert_articles(conn, batch)
    engine.dispose()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


class _Server:
    def __init__(self, url: str) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            create_app(Settings(database_url=url)), host="127.0.0.1", port=self.port, log_config=None
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        api = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code in (200, 503):
                    return api
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the API did not start")

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _timed(client: httpx.Client, url: str, params: dict[str, str]) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    response = client.get(url, params=params, timeout=30)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{url} {params}: {response.status_code} {response.text[:200]}")
    body: dict[str, object] = response.json()
    return elapsed, body


def latencies(api: str, entity: str, requests: int) -> dict[str, float]:
    """p50/p99 of first pages (limit 20) and of the page after each (its cursor), one request at a time."""
    first: list[float] = []
    following: list[float] = []
    with httpx.Client() as client:
        for n in range(requests):
            limit = str(10 + n % 3 * 10)
            elapsed, body = _timed(client, f"{api}/stories", {"entity": entity, "limit": limit})
            first.append(elapsed)
            cursor = body.get("next_cursor")
            if isinstance(cursor, str):
                elapsed, _ = _timed(client, f"{api}/stories", {"entity": entity, "limit": limit, "cursor": cursor})
                following.append(elapsed)
    result = {"first_p50": statistics.median(first), "first_p99": _p99(first)}
    if following:
        result |= {"next_p50": statistics.median(following), "next_p99": _p99(following)}
    return result


def burst(api: str, entity: str) -> dict[str, float | int]:
    """24 requests at once; /health asked every 100 ms meanwhile."""
    statuses: list[int] = []
    done = threading.Event()

    def watch_health() -> None:
        with httpx.Client() as client:
            while not done.is_set():
                try:
                    statuses.append(client.get(f"{api}/health", timeout=10).status_code)
                except httpx.HTTPError:
                    statuses.append(0)
                done.wait(0.1)

    watcher = threading.Thread(target=watch_health)
    watcher.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(BURST) as pool:
        codes = list(
            pool.map(
                lambda _: httpx.get(f"{api}/stories", params={"entity": entity}, timeout=60).status_code, range(BURST)
            )
        )
    seconds = time.perf_counter() - started
    done.set()
    watcher.join()
    return {
        "seconds": seconds,
        "ok": sum(1 for code in codes if code == 200),
        "health_checks": len(statuses),
        "health_not_ok": sum(1 for code in statuses if code != 200),
    }


def _articles_of(counts: dict[str, int], name: str) -> str:
    return f"{counts.get(name, 0):,}"


def _cells(figures: dict[str, float], shape: str) -> str:
    return f"{figures.get(shape + '_p50', 0):.1f} | {figures.get(shape + '_p99', 0):.1f}"


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=30_000)
    parser.add_argument("--common", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    machine = machine_line()
    with scratch_database(migrate=("store",)) as url:
        started = time.perf_counter()
        load(url, args.articles, args.common)
        print(f"loaded {args.articles:,} articles in {time.perf_counter() - started:.0f} s", flush=True)
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT count(*), count(DISTINCT a.story_id) FROM article_entities ae "
                "JOIN articles a ON a.article_id = ae.article_id WHERE ae.entity_id = %s",
                (entity_id(*COMMON_ENTITY),),
            ).fetchone()
        articles_with, stories_with = row if row else (0, 0)
        with psycopg.connect(url) as conn:
            url_stats: dict[str, int] = dict(conn.execute("SELECT name, article_count FROM entities").fetchall())
        with _Server(url) as api:
            common = latencies(api, COMMON_ENTITY[1], args.requests)
            rare = latencies(api, "Entity 007", args.requests // 2)
            crowd = burst(api, COMMON_ENTITY[1])
            # The same run without the walk (the server is in this process): the listing it replaces.
            walk_min = story_queries.WALK_MIN_ARTICLES
            story_queries.WALK_MIN_ARTICLES = 10**12
            try:
                full = latencies(api, COMMON_ENTITY[1], args.requests)
                full_crowd = burst(api, COMMON_ENTITY[1])
            finally:
                story_queries.WALK_MIN_ARTICLES = walk_min
    print(f"common entity ({articles_with} articles, {stories_with} stories): {common}")
    print(f"rare entity: {rare}")
    print(f"burst of {BURST}: {crowd}")
    print(f"without the walk: {full}; burst {full_crowd}")
    target = f"{TARGET_P99_MS:.0f}"
    rare_articles = _articles_of(url_stats, "Entity 007")
    body = f"""## `/stories?entity=` for a common entity (`bench/stories_entity.py`)

Command: `.venv/bin/python -m bench.stories_entity --articles {args.articles} --common {args.common}`.
Machine: {machine}. {args.articles:,} synthetic articles stored through the store's writer (stories of
1-6 articles, 3-6 entities each from a pool of {POOL_ENTITIES}); "Leeds" is named in {articles_with:,}
articles of {stories_with:,} stories. The API (one uvicorn worker in the bench's process) is asked one
request at a time; then {BURST} at once while `/health` is asked every 100 ms.

| shape | p50 ms | p99 ms | target |
|---|---:|---:|---|
| `/stories?entity=Leeds`, first page (limit 10-30) | {_cells(common, "first")} | p99 < {target} ms |
| `/stories?entity=Leeds`, next page (cursor) | {_cells(common, "next")} | p99 < {target} ms |
| `/stories?entity=Entity 007` (rare, {rare_articles} articles: no walk), first page | {_cells(rare, "first")} | |
| same run, without the walk (the full query it replaces): Leeds, first page | {_cells(full, "first")} | |
| same run, without the walk: Leeds, next page | {_cells(full, "next")} | |

{BURST} requests at once: all answered in {crowd["seconds"]:.1f} s ({crowd["ok"]} of {BURST} with 200);
`/health` answered {crowd["health_checks"]} times meanwhile, {crowd["health_not_ok"]} of them not 200.
Without the walk: {full_crowd["seconds"]:.1f} s, {full_crowd["health_not_ok"]} of {full_crowd["health_checks"]} health
answers not 200.
"""
    if not args.no_write:
        write_section("stories_entity.py", body)


if __name__ == "__main__":
    main()
