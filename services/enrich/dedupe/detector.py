"""Deciding, for a batch, which articles are originals, exact duplicates or reprints.

Concurrency choice: the decision and the index insert for a batch run in one Postgres
transaction holding a transaction-level advisory lock (``pg_advisory_xact_lock``). Replicas
tag entities in parallel (the expensive part, ~95 % of the time) and take turns only for this
step (a dozen batched statements), so every decision sees every earlier decision: two replicas
link a reprint to its original exactly as one replica would, even when both arrive at once.
Optimistic alternatives (insert, then resolve) need a second pass and can still publish two
"originals" for one group; a short critical section is simpler and provably consistent.

Each candidate the index finds (sharing word or letter anchors) is verified by the exact rule
first (``matching``: shared passages, what syndicated copies keep), and only when that fails, and
the candidate shares enough letter anchors to be worth it, by the noise-tolerant rule (``noisy``:
a scanned or lightly rewritten full copy, judged by a calibrated model). Every link records which
evidence matched and against which member (``LinkEvidence``).

Groups always point at their earliest-ingested member. A reprint can be processed before its
original (another partition lagged, another replica was faster): when an earlier article joins
a group, or bridges two groups, the groups are merged under the earliest member and every
article whose link changed is returned as a *correction* to republish (the store upserts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from sqlalchemy import Connection, Engine

from services.enrich.dedupe.batch_decision import BatchDecision
from services.enrich.dedupe.decision_types import CopyPreview, DedupeItem, DedupeResult, decision_order
from services.enrich.dedupe.index import DedupeIndex
from services.enrich.dedupe.noisy import NoisyLinkModel

__all__ = ["CopyPreview", "DedupeItem", "DedupeResult", "ReprintDetector", "decision_order"]

T = TypeVar("T")


class ReprintDetector:
    """Runs the decision for a batch against the durable index, under the dedupe lock."""

    def __init__(self, engine: Engine, index: DedupeIndex | None = None, model: NoisyLinkModel | None = None) -> None:
        self.engine = engine
        self.index = index or DedupeIndex()
        self.model = model or NoisyLinkModel.load()

    def decide(self, items: Sequence[DedupeItem]) -> DedupeResult:
        return self.decide_then(items, lambda _conn, _result: None)[0]

    def decide_then(
        self, items: Sequence[DedupeItem], then: Callable[[Connection, DedupeResult], T]
    ) -> tuple[DedupeResult, T]:
        """Decide, then run ``then`` in the same locked transaction (story assignment builds on the links)."""
        with self.engine.begin() as conn:
            self.index.lock(conn)
            result = BatchDecision(self.index, conn, self.model).run(items)
            return result, then(conn, result)

    def stored_events(self, article_ids: Iterable[str]) -> dict[str, bytes]:
        """The stored (compressed) events of those ``article_ids`` already indexed."""
        with self.engine.connect() as conn:
            return self.index.events(conn, article_ids)

    def preview(self, items: Sequence[DedupeItem]) -> CopyPreview:
        """The copies in ``items`` and what they copy, without the lock and without writing.

        Only an optimisation hint: the locked decision (:meth:`decide_then`) stays the one that
        links articles. Every source is a verified near-identical text whatever another replica
        decides meanwhile, so its entities stand for the copy's (see ``entities.copies``). Noisy
        copies are not sources (their names are misread or reworded), so the preview skips them.
        """
        with self.engine.connect() as conn:
            decision = BatchDecision(self.index, conn, None)
            sources = decision.copy_sources(items)
            in_batch = {item.article_id for item in decision.fresh}
            stored = self.index.events(conn, set(sources.values()) - in_batch)
            conn.rollback()
        usable = {copy: source for copy, source in sources.items() if source in stored or source in in_batch}
        return CopyPreview(usable, stored)
