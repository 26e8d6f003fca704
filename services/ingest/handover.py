"""The one-shot commands' counts, handed to the running ingest service so its metrics include them.

``newsflow ingest PATH --once`` and ``newsflow replay`` are short processes that nobody scrapes:
what they publish would never reach the ingest throughput figures, although enrich and store
count the same articles a moment later. So each one writes what its ``newsflow_ingest_*``
counters, its messages sent per topic and its ingest dead letters grew by since it last said so into a small file under
``<data dir>/ingest/handover/``, and the long-running ingest service adds those increases to its
own counters and deletes the file. Several replicas share a data dir: a file is taken by an atomic
rename, so exactly one of them counts it. When no ingest service runs, the files wait (a few
hundred bytes each) until one does.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from prometheus_client import REGISTRY, CollectorRegistry, Counter

from services.ingest import metrics
from services.ingest.inbox import WORK_FILE_PREFIX
from shared.metrics import DEAD_LETTERS, KAFKA_PRODUCED_BYTES, KAFKA_PRODUCED_MESSAGES

log = logging.getLogger(__name__)

HANDOVER_DIR: Final = Path("ingest") / "handover"
SUFFIX: Final = ".json"
# How often the service looks for handed-over counts (the figures lag the one-shot run by this much).
APPLY_INTERVAL_SECONDS: Final = 1.0
_DEAD_LETTERS_SAMPLE: Final = "newsflow_dead_letters_total"

Key = tuple[str, tuple[tuple[str, str], ...]]


def handover_dir(data_dir: Path) -> Path:
    return data_dir / HANDOVER_DIR


def _counters() -> dict[str, Counter]:
    """Sample name -> counter, for every counter a one-shot command hands over."""
    found: dict[str, Counter] = {}
    for value in [*vars(metrics).values(), DEAD_LETTERS, KAFKA_PRODUCED_MESSAGES, KAFKA_PRODUCED_BYTES]:
        if isinstance(value, Counter):
            for family in value.describe():
                found[f"{family.name}_total"] = value
    return found


def _handed_over(sample: str, labels: Mapping[str, str]) -> bool:
    if sample == _DEAD_LETTERS_SAMPLE:
        return labels.get("stage") == "ingest"
    return sample.startswith(("newsflow_ingest_", "newsflow_kafka_produced_")) and sample.endswith("_total")


class CountsWriter:
    """In a one-shot command: writes the increases of its ingest counters since the last ``flush``."""

    def __init__(self, data_dir: Path, registry: CollectorRegistry = REGISTRY) -> None:
        self.folder = handover_dir(data_dir)
        self.registry = registry
        # Only what is counted from now on is handed over (a process may have counted before).
        self._sent: dict[Key, float] = self._values()

    def _values(self) -> dict[Key, float]:
        values: dict[Key, float] = {}
        for family in self.registry.collect():
            if family.type != "counter":
                continue
            for sample in family.samples:
                if _handed_over(sample.name, sample.labels):
                    values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return values

    def flush(self) -> None:
        """Write what the counters grew by since the last flush (nothing when they did not)."""
        increases: list[dict[str, object]] = []
        for key, value in self._values().items():
            increase = value - self._sent.get(key, 0.0)
            if increase > 0:
                increases.append({"sample": key[0], "labels": dict(key[1]), "increase": increase})
                self._sent[key] = value
        if increases:
            self._write(increases)

    def _write(self, increases: list[dict[str, object]]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{os.getpid()}-{uuid.uuid4().hex[:8]}{SUFFIX}"
        temporary = self.folder / f"{WORK_FILE_PREFIX}{name}"
        temporary.write_text(json.dumps(increases))
        os.replace(temporary, self.folder / name)


def apply_handed_over(data_dir: Path) -> int:
    """Add every waiting file's increases to this process's counters; how many files were taken."""
    folder = handover_dir(data_dir)
    try:
        names = sorted(name for name in os.listdir(folder) if name.endswith(SUFFIX) and name[0].isdigit())
    except FileNotFoundError:
        return 0
    counters = _counters()
    taken = 0
    for name in names:
        mine = folder / f"{WORK_FILE_PREFIX}taken-{uuid.uuid4().hex[:8]}-{name}"
        try:
            os.rename(folder / name, mine)  # exactly one replica's rename succeeds
        except FileNotFoundError:
            continue
        try:
            increases = json.loads(mine.read_text())
        except (OSError, ValueError) as exc:
            log.warning("handed-over counts unreadable; skipped", extra={"path": str(mine), "error": str(exc)})
            increases = []
        finally:
            mine.unlink(missing_ok=True)
        taken += 1
        for item in increases if isinstance(increases, list) else []:
            _apply(counters, item)
    return taken


def _apply(counters: dict[str, Counter], item: object) -> None:
    if not isinstance(item, dict):
        return
    counter = counters.get(str(item.get("sample")))
    labels = item.get("labels") or {}
    increase = item.get("increase")
    if counter is None or not isinstance(labels, dict) or not isinstance(increase, int | float) or increase <= 0:
        return
    try:
        (counter.labels(**labels) if labels else counter).inc(increase)
    except ValueError:
        return  # labels of another version of newsflow: not ours to guess


def start_applying(data_dir: Path, stop: threading.Event) -> threading.Thread:
    """Apply handed-over counts every second until ``stop`` is set (a daemon thread)."""

    def loop() -> None:
        while not stop.is_set():
            try:
                apply_handed_over(data_dir)
            except OSError as exc:  # a full or unreadable disk must not end the service
                log.warning("cannot read handed-over counts", extra={"error": str(exc)})
            stop.wait(APPLY_INTERVAL_SECONDS)

    thread = threading.Thread(target=loop, name="ingest-handover", daemon=True)
    thread.start()
    return thread
