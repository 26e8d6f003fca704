"""Watches at scale and their latency (issue 26), on the real pipeline (``newsflow run`` as a user starts it).

1. Delivery: 100 watches with webhooks to a loopback receiver, an SSE client that drops and resumes
   every 200 events, the 1,496 eval-dev files dropped at once, and the store (which matches and
   delivers) killed with SIGKILL once a third are stored. Checked: every match in the outbox
   reached the receiver (deduping by delivery id), signed; every stored article reached the stream
   client once, in order. Reported: matches, redeliveries the receiver dropped, times.
2. Latency on the idle pipeline: one watch, single files dropped one at a time; from the match
   (the storing transaction's time, ``watch_matches.matched_at``) to the receiver's arrival time,
   and from the drop to the arrival.

Run: ``.venv/bin/python -m bench.watches`` (``--watches``, ``--files``, ``--samples``). Writes its
section of docs/benchmarks.md. The eval-dev files are read from ../shared, never copied into the repo.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import psycopg

from bench.common import EVAL_DEV, machine_line, scratch_database, write_section
from bench.harness.live import webhook_receiver
from bench.harness.pipeline import ArticleFile, Pipeline, drop, make_articles, wait_until
from bench.harness.watch_run import WatchRunReport, run_watches

DEFAULT_WATCHES = 100
DEFAULT_SAMPLES = 15
DROP_EVERY = 200
TIMEOUT_SECONDS = 3600.0


def dev_files(limit: int | None) -> list[ArticleFile]:
    paths = sorted((EVAL_DEV / "dedupe" / "docs").glob("*.txt"))
    if not paths:
        raise SystemExit(f"no files in {EVAL_DEV / 'dedupe' / 'docs'}")
    return [ArticleFile(p.name, p.read_bytes()) for p in paths[:limit]]


def idle_latencies(pipeline: Pipeline, database_url: str, samples: int) -> tuple[list[float], list[float]]:
    """(match-to-delivery, drop-to-delivery) seconds of single files dropped into the idle pipeline."""
    match_to_delivery: list[float] = []
    drop_to_delivery: list[float] = []
    with webhook_receiver() as receiver:
        watch = httpx.post(
            f"{pipeline.api}/watches",
            json={"name": "latency", "include_duplicates": True, "webhook_url": receiver.url},
            timeout=10,
        ).json()
        for item in make_articles(samples, prefix="latency"):
            time.sleep(1.0)  # idle: nothing else in flight
            dropped = time.time()
            drop(pipeline.inbox, [item])
            wait_until(lambda: len(receiver.arrived) > len(match_to_delivery), "the delivery", 120)
            delivery_id, arrived = max(receiver.arrived.items(), key=lambda pair: pair[1])
            seq = int(delivery_id.split("-")[1])
            with psycopg.connect(database_url) as conn:
                row = conn.execute(
                    "SELECT extract(epoch FROM matched_at) FROM watch_matches WHERE watch_id = %s AND seq = %s",
                    (watch["id"], seq),
                ).fetchone()
            assert row is not None
            match_to_delivery.append(arrived - float(row[0]))
            drop_to_delivery.append(arrived - dropped)
    return match_to_delivery, drop_to_delivery


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--watches", type=int, default=DEFAULT_WATCHES)
    parser.add_argument("--files", type=int, default=None, help="only the first N eval-dev files")
    parser.add_argument("--samples", type=int, default=DEFAULT_SAMPLES)
    parser.add_argument("--no-kill", action="store_true", help="do not kill the store mid-run")
    args = parser.parse_args()
    files = dev_files(args.files)
    machine = machine_line()
    with scratch_database() as url, tempfile.TemporaryDirectory(prefix="newsflow-watches-") as root:
        pipeline = Pipeline(Path(root), database_url=url).start()
        try:
            report, _ = run_watches(
                pipeline,
                url,
                files,
                watch_count=args.watches,
                kill_store=not args.no_kill,
                drop_every=DROP_EVERY,
                timeout_seconds=TIMEOUT_SECONDS,
            )
            print(report)
            match_to_delivery, drop_to_delivery = idle_latencies(pipeline, url, args.samples)
        except BaseException:
            pipeline.dump_logs()
            raise
        finally:
            pipeline.stop()
    write_section("watches", render(report, match_to_delivery, drop_to_delivery, machine))
    print(render(report, match_to_delivery, drop_to_delivery, machine))


def render(report: WatchRunReport, match_to_delivery: list[float], drop_to_delivery: list[float], machine: str) -> str:
    def ms(values: list[float]) -> str:
        return f"median {statistics.median(values) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms"

    killed = "killed with SIGKILL once a third of the files were stored" if report.store_killed else "not killed"
    return f"""## Watches: delivery at scale and latency (bench/watches.py)

Command: `.venv/bin/python -m bench.watches` ({machine}).

The real pipeline (`newsflow run`, embedded broker, Postgres on 127.0.0.1), {report.watches} watches
with webhooks to a loopback receiver, an SSE client that drops its connection every {DROP_EVERY}
events and resumes with `Last-Event-ID`, {report.files} eval-dev files dropped at once, the store
{killed}.

| measure | value |
|---|---|
| articles stored | {report.stored} |
| matches (outbox rows) | {report.matches} |
| delivered to the receiver (distinct delivery ids) | {report.delivered_unique} (all; none missing, none unexpected) |
| redeliveries the receiver dropped by delivery id | {report.redelivered} |
| signatures that failed to verify | {report.bad_signatures} |
| articles streamed to the SSE client (each once, in feed order) | {report.streamed} |
| SSE connections it took | {report.stream_connections} |
| drop to all stored | {report.seconds_to_stored:.0f} s |
| drop to all delivered | {report.seconds_to_delivered:.0f} s |

Idle pipeline, {len(match_to_delivery)} single files dropped one at a time, one watch:

| latency | figures |
|---|---|
| match (storing transaction) to the receiver | {ms(match_to_delivery)} |
| drop into the inbox to the receiver | {ms(drop_to_delivery)} |
"""


if __name__ == "__main__":
    main()
