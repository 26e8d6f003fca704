"""Pipeline throughput against what the model alone reaches, and idle drop-to-API latency (issue 4).

1. Baseline: spaCy ``en_core_web_sm`` NER (``nlp.pipe``) plus datasketch MinHash/LSH over the same
   400 BBC articles, in this process pinned to one core.
2. Pipeline: the real services (``Supervisor``: ingest, enrich x N, store, real broker, real
   Postgres) with 400 files dropped at once; articles/s from the drop to the last row committed.
3. Idle latency: single files dropped one at a time into the idle pipeline; time until the
   article answers at ``GET /articles/{id}``.

Run: ``.venv/bin/python -m bench.throughput`` (``--help`` for options). Writes its section of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from bench.common import EVAL_DEV, machine_line, scratch_database, write_section
from services.embedded import free_port
from services.supervisor import Supervisor
from shared.config import Settings
from shared.identity import article_id, sha256_hex

ARTICLES = 400
MINHASH_PERMUTATIONS = 128
SHINGLE_WORDS = 5
LSH_THRESHOLD = 0.8
IDLE_SAMPLES = 15
_POLL_SECONDS = 0.02
_STORED_POLL_SECONDS = 0.05
_TIMEOUT_SECONDS = 600.0


@dataclass
class PipelineRun:
    replicas: int
    seconds: float

    @property
    def rate(self) -> float:
        return ARTICLES / self.seconds


def bbc_files(count: int) -> list[Path]:
    files = sorted((EVAL_DEV / "dedupe" / "docs").glob("*.txt"))
    if len(files) < count:
        raise SystemExit(f"need {count} articles in {EVAL_DEV / 'dedupe' / 'docs'}, found {len(files)}")
    return files[:count]


def baseline_rate(files: list[Path], model: str) -> float:
    """Articles/s of spaCy NER + MinHash/LSH alone, one process on one core."""
    from datasketch import MinHash, MinHashLSH

    from services.enrich.entities.model import load_ner

    texts = [f.read_text(encoding="utf-8", errors="replace") for f in files]
    affinity = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(affinity)})
    try:
        nlp = load_ner(model)
        list(nlp.pipe(texts[:8]))  # warm-up, as the service is warm when files arrive
        started = time.perf_counter()
        lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=MINHASH_PERMUTATIONS)
        for index, doc in enumerate(nlp.pipe(texts, batch_size=32)):
            _ = [(ent.text, ent.label_) for ent in doc.ents]
            tokens = doc.text.lower().split()
            signature = MinHash(num_perm=MINHASH_PERMUTATIONS)
            for i in range(max(1, len(tokens) - SHINGLE_WORDS + 1)):
                signature.update(" ".join(tokens[i : i + SHINGLE_WORDS]).encode("utf-8"))
            lsh.query(signature)
            lsh.insert(str(index), signature)
        return len(texts) / (time.perf_counter() - started)
    finally:
        os.sched_setaffinity(0, affinity)


class Stack:
    """The real pipeline, supervised in a background thread, on a scratch database."""

    def __init__(self, root: Path, database_url: str, replicas: int) -> None:
        self.inbox = root / "inbox"
        self.api = f"http://127.0.0.1:{free_port()}"
        self.database_url = database_url
        settings = Settings(
            data_dir=root / "data",
            inbox=self.inbox,
            database_url=database_url,
            api_port=int(self.api.rsplit(":", 1)[1]),
        )
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=Supervisor(settings, enrich_replicas=replicas).run, args=(self.stop,), daemon=True
        )

    def __enter__(self) -> Stack:
        self.thread.start()
        deadline = time.monotonic() + _TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.api}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the pipeline did not become healthy")

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(timeout=60)

    def drop(self, source: Path, name: str | None = None) -> str:
        """Place a file in the inbox atomically (write hidden, then rename); its article id."""
        name = name or source.name
        hidden = self.inbox / f".{name}.part"
        shutil.copyfile(source, hidden)
        os.rename(hidden, self.inbox / name)
        return article_id(name, sha256_hex(source.read_bytes()))

    def wait_stored(self, expected: int) -> None:
        # One connection for the whole wait: a new one per poll (a forked backend each) cost the
        # measured pipeline a noticeable share of the machine's two cores.
        deadline = time.monotonic() + _TIMEOUT_SECONDS
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            while (stored := _count_articles(conn)) < expected:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"only {stored} of {expected} articles stored")
                time.sleep(_STORED_POLL_SECONDS)


def _count_articles(conn: psycopg.Connection[tuple[int]]) -> int:
    row = conn.execute("SELECT count(*) FROM articles").fetchone()
    return int(row[0]) if row else 0


def copies_among(files: list[Path]) -> int:
    """How many of ``files`` are later members of a gold reprint group (copies enrich need not tag)."""
    cluster = json.loads((EVAL_DEV / "dedupe" / "gold.json").read_text())["cluster"]
    return len(files) - len({cluster[f.name] for f in files})


def pipeline_run(files: list[Path], replicas: int, *, reuse: bool = True) -> tuple[PipelineRun, list[float]]:
    # The supervisor's children inherit this process's environment.
    os.environ["NEWSFLOW_REUSE_COPY_ENTITIES"] = "true" if reuse else "false"
    with tempfile.TemporaryDirectory() as tmp, scratch_database() as url, Stack(Path(tmp), url, replicas) as stack:
        stack.drop(files[0], name="warm-up.txt")  # models loaded, consumers joined
        stack.wait_stored(1)
        started = time.perf_counter()
        for path in files:
            stack.drop(path)
        stack.wait_stored(1 + len(files))
        run = PipelineRun(replicas, time.perf_counter() - started)
        latencies = idle_latencies(stack, files) if replicas == 1 and reuse else []
        return run, latencies


def idle_latencies(stack: Stack, files: list[Path]) -> list[float]:
    samples: list[float] = []
    with httpx.Client(base_url=stack.api, timeout=5) as client:
        for index, source in enumerate(files[:IDLE_SAMPLES]):
            time.sleep(1.0)  # idle again: nothing in flight
            started = time.perf_counter()
            identity = stack.drop(source, name=f"idle-{index}-{source.name}")
            while client.get(f"/articles/{identity}").status_code != 200:
                time.sleep(_POLL_SECONDS)
            samples.append(time.perf_counter() - started)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=Settings().spacy_model)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()

    files = bbc_files(ARTICLES)
    machine = machine_line()
    # The machine is shared: the baseline is measured before, between and after the pipeline
    # runs, and the ratios use the median of the three.
    baselines = [baseline_rate(files, args.model)]
    print(f"baseline (spaCy NER + MinHash, 1 core): {baselines[-1]:.1f} articles/s", flush=True)
    copies = copies_among(files)
    one, latencies = pipeline_run(files, replicas=1)
    print(f"pipeline, 1 enrich: {one.rate:.1f} articles/s", flush=True)
    two, _ = pipeline_run(files, replicas=2)
    print(f"pipeline, 2 enrich: {two.rate:.1f} articles/s", flush=True)
    baselines.append(baseline_rate(files, args.model))
    print(f"baseline again: {baselines[-1]:.1f} articles/s", flush=True)
    every, _ = pipeline_run(files, replicas=1, reuse=False)
    print(f"pipeline, 1 enrich, every article tagged: {every.rate:.1f} articles/s", flush=True)
    baselines.append(baseline_rate(files, args.model))
    print(f"baseline again: {baselines[-1]:.1f} articles/s", flush=True)
    baseline = statistics.median(baselines)
    measured = ", ".join(f"{b:.1f}" for b in baselines)
    median_ms = statistics.median(latencies) * 1000
    print(f"idle drop-to-API latency: median {median_ms:.0f} ms over {len(latencies)}", flush=True)

    body = f"""
## Pipeline throughput and latency (`bench/throughput.py`)

Command: `.venv/bin/python -m bench.throughput`. Machine: {machine}. {ARTICLES} BBC articles
from eval-dev, all in one run. Baseline: spaCy `en_core_web_sm` NER (`nlp.pipe`, NER pipe only)
plus datasketch MinHash ({MINHASH_PERMUTATIONS} permutations, word {SHINGLE_WORDS}-shingles) and
LSH query + insert, one process pinned to one core, tagging every article. Pipeline: the real
services under the supervisor (embedded Tansu broker, Postgres at 127.0.0.1), all files dropped at
once, timed from the first drop to the last row committed in the store. {copies} of the
{ARTICLES} files are copies of an earlier one (gold reprint groups); with
`NEWSFLOW_REUSE_COPY_ENTITIES=true` (the default) enrich gives a copy its source's entities
instead of running spaCy on it again; the last row tags every article, as the baseline does.

| run | articles/s | ratio to baseline | target |
|---|---:|---:|---|
| baseline: spaCy sm NER + MinHash, 1 core (median of {measured}) | {baseline:.1f} | 1.00 | |
| pipeline, 1 enrich process | {one.rate:.1f} | {one.rate / baseline:.2f} | >= 0.9 |
| pipeline, 2 enrich replicas | {two.rate:.1f} | {two.rate / baseline:.2f} | > 1.0 |
| pipeline, 1 enrich, every article tagged (reuse off) | {every.rate:.1f} | {every.rate / baseline:.2f} | |

Idle latency, file drop to `GET /articles/{{id}}` answering: median **{median_ms:.0f} ms**
(min {min(latencies) * 1000:.0f}, max {max(latencies) * 1000:.0f}, {len(latencies)} single files,
1 s apart); target: median under 1 s.
"""
    print(body)
    if not args.no_write:
        write_section("throughput.py", body)


if __name__ == "__main__":
    main()
