"""Per-article cost of reprint detection as the index grows: 1k, 10k and 100k indexed articles.

    .venv/bin/python -m bench.dedupe_scaling [--sizes 1000 10000 100000] [--probe 640] [--batch 32]

The index (Postgres schema ``enrich`` in a scratch database) is filled with synthetic articles:
four paragraphs of 80 words drawn from the word frequencies of the BBC articles in
../shared/eval-dev/dedupe (so frequent phrases recur across articles as they do in news, while
no two articles share a passage by chance).
At each size, ``--probe`` further articles are decided in batches and the wall time per article
is reported: half new, a quarter edited reprints of indexed ones (found by the exact rule) and a
quarter scanned copies of indexed ones (3 % of letters misread, some words split or joined: found
by letter anchors and the noisy-copy model). NER is not involved: this
measures the dedupe step alone (fingerprint, locked decision, inserts).
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection

from bench.quality import DEFAULT_EVAL_DIR, scratch_database
from services.enrich.dedupe.detector import DedupeItem, ReprintDetector
from services.enrich.dedupe.fingerprint import TextFingerprint
from services.enrich.dedupe.index import DedupeIndex, NewRow, Postings, StoredText
from services.enrich.dedupe.training import noise
from shared.db import make_engine

T = TypeVar("T")

PARAGRAPHS_PER_ARTICLE = 4
WORDS_PER_PARAGRAPH = 80
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*|\d+")


def vocabulary(eval_dir: Path) -> tuple[list[str], list[float]]:
    """Words of the BBC originals and their relative frequencies."""
    counts: Counter[str] = Counter()
    for path in sorted((eval_dir / "dedupe" / "docs").glob("*.txt")):
        if "_reprint" not in path.name and "_withbio" not in path.name:
            counts.update(_WORD.findall(path.read_text(encoding="utf-8")))
    total = sum(counts.values())
    words = sorted(counts)
    return words, [counts[w] / total for w in words]


class Generator:
    def __init__(self, words: list[str], weights: list[float], seed: int = 7) -> None:
        self.words = words
        self.cumulative = list(itertools.accumulate(weights))
        self.random = random.Random(seed)
        self.bodies: list[str] = []
        self.clock = datetime(2025, 1, 1, tzinfo=UTC)
        self.count = 0

    def _item(self, body: str) -> DedupeItem:
        self.count += 1
        self.clock += timedelta(seconds=1)
        return DedupeItem(f"synthetic-{self.count}", self.clock, TextFingerprint.of(body), b"x\x9c\x03\x00")

    def new(self) -> DedupeItem:
        body = "\n\n".join(
            " ".join(self.random.choices(self.words, cum_weights=self.cumulative, k=WORDS_PER_PARAGRAPH))
            for _ in range(PARAGRAPHS_PER_ARTICLE)
        )
        self.bodies.append(body)
        return self._item(body)

    def reprint(self) -> DedupeItem:
        words = self.random.choice(self.bodies).split(" ")
        words = words[: int(len(words) * 0.8)]
        words[len(words) // 2] = "reportedly"
        return self._item("LONDON (Wire) - " + " ".join(words) + "\n\nAll rights reserved.")

    def scanned(self) -> DedupeItem:
        return self._item(noise.scanned(self.random.choice(self.bodies), self.random, misread=0.03))

    def probe(self, index: int) -> tuple[str, DedupeItem]:
        """Half new articles, a quarter reprints, a quarter scanned copies."""
        if index % 2:
            return "new", self.new()
        return ("reprint", self.reprint()) if index % 4 == 0 else ("scanned", self.scanned())


class TimedIndex(DedupeIndex):
    """The durable index, timing its heaviest statements (where the per-article cost goes)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def _timed(self, name: str, call: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            return call()
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def postings(self, conn: Connection, anchors: Iterable[int]) -> Postings:
        return self._timed("postings", lambda: super(TimedIndex, self).postings(conn, anchors))

    def texts(self, conn: Connection, article_ids: Iterable[str]) -> dict[str, StoredText]:
        return self._timed("texts", lambda: super(TimedIndex, self).texts(conn, article_ids))

    def insert(self, conn: Connection, rows: Sequence[NewRow]) -> None:
        self._timed("insert", lambda: super(TimedIndex, self).insert(conn, rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--probe", type=int, default=640)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="probe rounds per size (the median is reported)")
    args = parser.parse_args()
    words, weights = vocabulary(args.eval_dir)
    if not words:
        raise SystemExit(f"no articles found under {args.eval_dir}/dedupe/docs")
    generator = Generator(words, weights)
    print(f"vocabulary: {len(words)} words; batch {args.batch}; probe {args.probe} articles per size")
    with scratch_database() as url:
        engine = make_engine(url)
        index = TimedIndex()
        detector = ReprintDetector(engine, index)
        indexed = 0
        baseline: float | None = None
        for size in sorted(args.sizes):
            fill_started = time.perf_counter()
            while indexed < size:
                batch = [generator.new() for _ in range(min(args.batch * 4, size - indexed))]
                detector.decide(batch)
                indexed += len(batch)
            fill_seconds = time.perf_counter() - fill_started
            rounds: list[float] = []
            linked: Counter[str] = Counter()
            wanted: Counter[str] = Counter()
            index.seconds.clear()
            for _ in range(args.rounds):
                probes = [generator.probe(i) for i in range(args.probe)]
                kind_of = {item.article_id: kind for kind, item in probes}
                wanted.update(kind for kind, _ in probes)
                started = time.perf_counter()
                for i in range(0, len(probes), args.batch):
                    result = detector.decide([item for _, item in probes[i : i + args.batch]])
                    linked.update(kind_of[a] for a, link in result.links.items() if link is not None)
                rounds.append((time.perf_counter() - started) / len(probes) * 1000)
                indexed += len(probes)
            per_article_ms = statistics.median(rounds)
            baseline = baseline or per_article_ms
            probed = args.probe * args.rounds
            statements = ", ".join(
                f"{name} {seconds / probed * 1000:.2f}" for name, seconds in sorted(index.seconds.items())
            )
            print(
                f"index {size:>7,}: {per_article_ms:6.2f} ms/article, median of "
                f"{', '.join(f'{r:.2f}' for r in rounds)} "
                f"({per_article_ms / baseline:4.2f}x the first size; of which ms/article in {statements}; "
                f"reprints linked {linked['reprint']}/{wanted['reprint']}, scanned copies linked "
                f"{linked['scanned']}/{wanted['scanned']}, new articles linked {linked['new']}; "
                f"fill {fill_seconds:.0f} s; load average {os.getloadavg()[0]:.1f})",
                flush=True,
            )
        engine.dispose()


if __name__ == "__main__":
    main()
