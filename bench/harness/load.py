"""The load scenario shared by ``test_load`` (1,000 files) and ``bench/load.py`` (10,000 files).

Files are written to a staging folder on the inbox's file system and then renamed into the inbox
one after the other as fast as possible: the inbox sees them all at once, each complete.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from typing import Final

import psutil

from bench.harness.pipeline import Pipeline, drop, make_articles, stored_count, wait_until
from bench.harness.resources import Sampler, Usage, measure

WARM_UP_FILES: Final = 5
# Open descriptors may differ by a few between two idle moments (pooled connections, sockets).
FD_LEAK_MARGIN: Final = 12
SETTLE_SECONDS: Final = 3.0


@dataclass
class LoadResult:
    files: int
    seconds: float
    usage: dict[str, Usage]
    fds_before: dict[str, int]
    fds_after: dict[str, int]

    @property
    def articles_per_second(self) -> float:
        return self.files / self.seconds


def service_pids(pipeline: Pipeline) -> dict[str, int]:
    """The supervisor, the embedded broker and every service, by name."""
    info = pipeline.run_info()
    pids = {"supervisor": int(info["pid"]), **{name: int(pid) for name, pid in info["services"].items()}}
    with contextlib.suppress(AssertionError, psutil.Error):
        pids["broker"] = pipeline.broker().pid
    return pids


def run_load(pipeline: Pipeline, database_url: str, files: int, *, timeout_seconds: float) -> LoadResult:
    warm_up = drop(pipeline.inbox, make_articles(WARM_UP_FILES, prefix="warmup"))
    wait_until(lambda: stored_count(database_url) >= len(warm_up), "the warm-up articles (models loaded)")
    time.sleep(SETTLE_SECONDS)
    fds_before = {name: fds for name, (_, fds) in measure(service_pids(pipeline)).items()}

    staging = pipeline.root / "staging"
    staging.mkdir()
    articles = make_articles(files, prefix="load")
    for article in articles:
        (staging / article.name).write_bytes(article.data)
    with Sampler(lambda: service_pids(pipeline)) as sampler:
        started = time.monotonic()
        for article in articles:
            os.rename(staging / article.name, pipeline.inbox / article.name)
        wait_until(
            lambda: stored_count(database_url) >= files + len(warm_up),
            f"all {files} files to be stored",
            timeout_seconds,
        )
        seconds = time.monotonic() - started
    time.sleep(SETTLE_SECONDS)
    fds_after = {name: fds for name, (_, fds) in measure(service_pids(pipeline)).items()}
    return LoadResult(files, seconds, sampler.usage, fds_before, fds_after)


def summary_lines(result: LoadResult) -> list[str]:
    lines = [f"{result.files} files stored in {result.seconds:.1f} s ({result.articles_per_second:.1f} articles/s)"]
    for name, usage in sorted(result.usage.items()):
        lines.append(
            f"{name}: peak RSS {usage.peak_rss_mib:.0f} MiB, fds {result.fds_before.get(name, '?')} before, "
            f"max {max(usage.fds)} during, {result.fds_after.get(name, '?')} after"
        )
    return lines


def names_of(result: LoadResult) -> list[str]:
    return [f"load_{i:05d}.txt" for i in range(result.files)] + [f"warmup_{i:05d}.txt" for i in range(WARM_UP_FILES)]
