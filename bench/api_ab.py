"""Read-API A/B: an older checkout's API against this one's, on one database, in one run.

    git worktree add /tmp/old-24 c34627b
    .venv/bin/python -m bench.api_ab --old /tmp/old-24 [--database newsflow_bench_api] [--rounds 3]

Both APIs serve the same database (loaded by ``bench/api.py``; ``--database`` names it) at the
same time, each under uvicorn with ``--workers`` processes, started from its own checkout (the
old one's code is imported from its folder; it needs no virtualenv of its own as long as its
dependencies are this one's). For each request shape of ``bench/api.py``, each round runs the
latency pass (2 connections) and the throughput pass (16 connections) on one API, then on the
other, the order swapped every round, so drift in the machine's load falls on both alike. It
first asks both the same requests and counts identical answers. Prints and writes the medians
over the rounds and the new/old ratio of requests/s to ``docs/benchmarks.md``.

Targets (issue 24): each shape's requests/s >= 0.9x the old API's, and its p99 at 2 connections < 50 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from bench import common
from bench.api import (
    BENCH_DATABASE,
    LOCAL_POSTGRES,
    REPO_ROOT,
    TARGET_P99_MS,
    Result,
    request_shapes,
    run_wrk,
    start_api,
)
from services.embedded import free_port

TARGET_RPS_RATIO = 0.9


@dataclass
class _Figures:
    """One API's passes of one shape, over the rounds."""

    latency: list[Result] = field(default_factory=list)
    throughput: list[Result] = field(default_factory=list)

    def p50(self) -> float:
        return statistics.median(r.p50_ms for r in self.latency)

    def p99(self) -> float:
        return statistics.median(r.p99_ms for r in self.latency)

    def rps(self) -> float:
        return statistics.median(r.rps for r in self.throughput)

    def errors(self) -> int:
        return sum(r.errors for r in [*self.latency, *self.throughput])


def _measure(api: str, shape: str, paths: list[str], figures: _Figures, args: argparse.Namespace) -> None:
    latency_threads = min(args.threads, args.latency_connections)
    figures.latency.append(
        run_wrk(
            api, shape, paths, duration=args.duration, connections=args.latency_connections, threads=latency_threads
        )
    )
    figures.throughput.append(
        run_wrk(api, shape, paths, duration=args.duration, connections=args.connections, threads=args.threads)
    )


def _same_answers(
    apis: Mapping[str, str], shapes: Mapping[str, list[str]], per_shape: int
) -> dict[str, tuple[int, int]]:
    """For each shape, how many of its first ``per_shape`` requests both APIs answer with the same body."""
    found = {}
    with httpx.Client(timeout=30) as client:
        for shape, paths in shapes.items():
            asked = paths[:per_shape]
            same = sum(client.get(apis["old"] + p).text == client.get(apis["new"] + p).text for p in asked)
            found[shape] = (same, len(asked))
    return found


def _table(results: dict[str, tuple[_Figures, _Figures]], args: argparse.Namespace) -> list[str]:
    rows = [
        "| shape | old p50 / p99 ms (2 conns) | new p50 / p99 ms (2 conns) | old req/s | new req/s | new/old | "
        f"p99 < {TARGET_P99_MS:.0f} ms and >= {TARGET_RPS_RATIO}x |",
        "|---|---:|---:|---:|---:|---:|:---:|",
    ]
    for shape, (old, new) in results.items():
        ratio = new.rps() / old.rps() if old.rps() else 0.0
        ok = new.p99() < TARGET_P99_MS and ratio >= TARGET_RPS_RATIO and new.errors() == 0
        rows.append(
            f"| {shape} | {old.p50():.1f} / {old.p99():.1f} | {new.p50():.1f} / {new.p99():.1f} | "
            f"{old.rps():.0f} | {new.rps():.0f} | {ratio:.2f} | {'yes' if ok else '**no**'} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", type=Path, required=True, help="the older checkout (a git worktree)")
    parser.add_argument("--database", default=BENCH_DATABASE, help="a database bench/api.py loaded")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=8, help="seconds per pass")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--latency-connections", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--compare", type=int, default=50, help="requests per shape whose answers are compared")
    parser.add_argument("--compare-only", action="store_true", help="compare the answers, measure nothing")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    admin_url = os.environ.get("DATABASE_URL", LOCAL_POSTGRES)
    url = make_url(admin_url).set(database=args.database).render_as_string(hide_password=False)
    machine = common.machine_line()
    load_at_start = os.getloadavg()[0]
    apis = {}
    processes = []
    try:
        for name, root in (("old", args.old.resolve()), ("new", REPO_ROOT)):
            port = free_port()
            processes.append(start_api(url, port, args.workers, root=root))
            apis[name] = f"http://127.0.0.1:{port}"
        shapes = request_shapes(url, apis["new"])
        same = _same_answers(apis, shapes, args.compare)
        for shape, (equal, asked) in same.items():
            print(f"{shape}: {equal} of {asked} answers identical", flush=True)
        if args.compare_only:
            return
        results: dict[str, tuple[_Figures, _Figures]] = {}
        for shape, paths in shapes.items():
            old, new = _Figures(), _Figures()
            for api in apis.values():  # warm-up
                run_wrk(api, shape, paths, duration=2, connections=args.connections, threads=args.threads)
            for round_number in range(args.rounds):
                # Each round swaps which API goes first: neither gains from the order passes run in.
                pair = [("old", old), ("new", new)]
                for name, figures in pair if round_number % 2 == 0 else reversed(pair):
                    _measure(apis[name], shape, paths, figures, args)
            results[shape] = (old, new)
            print(_table({shape: (old, new)}, args)[-1], flush=True)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=15)
    rows = _table(results, args)
    body = "\n".join(
        [
            "## Read API A/B, issue 24's redesign against the API before it (`bench/api_ab.py`)",
            "",
            f"Measured {machine}; one database ({args.database}, loaded by `bench/api.py`: 100,000 articles), both "
            f"APIs up at once under uvicorn ({args.workers} workers each), wrk cycling through each shape's distinct "
            f"requests; {args.rounds} rounds (old then new, then new then old, ...), {args.duration} s per pass: "
            f"latency at {args.latency_connections} connections, requests/s at {args.connections}. Medians over the "
            f"rounds. Load average before: {load_at_start:.1f}, after: {os.getloadavg()[0]:.1f} (a shared machine).",
            "",
            *rows,
            "",
            "Same answers: of each shape's first requests, asked of both APIs, "
            + "; ".join(f"{shape} {equal}/{asked}" for shape, (equal, asked) in same.items())
            + " had byte-identical bodies.",
            "",
            f"Reproduce: `git worktree add /tmp/old-24 c34627b && .venv/bin/python -m bench.api_ab --old /tmp/old-24 "
            f"--database {args.database} --rounds {args.rounds} --duration {args.duration}`.",
        ]
    )
    print(body)
    if not args.no_write:
        common.write_section("api_ab.py", body)


if __name__ == "__main__":
    main()
