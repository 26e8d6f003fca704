"""Deciding, for a batch, which articles are originals, exact duplicates or reprints.

Concurrency choice: the decision and the index insert for a batch run in one Postgres
transaction holding a transaction-level advisory lock (``pg_advisory_xact_lock``). Replicas
tag entities in parallel (the expensive part, ~95 % of the time) and take turns only for this
step (a dozen batched statements), so every decision sees every earlier decision: two replicas
link a reprint to its original exactly as one replica would, even when both arrive at once.
Optimistic alternatives (insert, then resolve) need a second pass and can still publish two
"originals" for one group; a short critical section is simpler and provably consistent.

Groups always point at their earliest-ingested member. A reprint can be processed before its
original (another partition lagged, another replica was faster): when an earlier article joins
a group, or bridges two groups, the groups are merged under the earliest member and every
article whose link changed is returned as a *correction* to republish (the store upserts).
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol, TypeVar

from sqlalchemy import Connection, Engine

from services.enrich.dedupe.fingerprint import ContentFingerprint, TextFingerprint
from services.enrich.dedupe.index import MAX_ANCHOR_POSTINGS, DedupeIndex, NewRow, Regrouped, StoredLink
from services.enrich.dedupe.matching import reprint_similarity
from shared.events import DuplicateKind, DuplicateLink

log = logging.getLogger(__name__)

# A paragraph seen in this many distinct stories is boilerplate (footer, bio, agency credit).
BOILERPLATE_MIN_STORIES = 3
# Candidates verified exactly per article, the ones sharing the most anchors with it.
MAX_CANDIDATES_PER_ARTICLE = 10

T = TypeVar("T")


class _Ordered(Protocol):
    @property
    def ingested_at(self) -> datetime: ...
    @property
    def article_id(self) -> str: ...


def decision_order(article: _Ordered) -> tuple[datetime, str]:
    """The order a batch's articles are decided in: earliest ingested first, then by id."""
    return (article.ingested_at, article.article_id)


# Ranks an identical text above any reprint similarity (which is at most 1.0).
_EXACT = 2.0


@dataclass(frozen=True)
class DedupeItem:
    """One article to decide on."""

    article_id: str
    ingested_at: datetime
    text: TextFingerprint
    # The enriched event as published (stored for corrections); a preview needs none.
    event: bytes = b""


@dataclass
class DedupeResult:
    """Links for the batch, and earlier articles whose link changed."""

    links: dict[str, DuplicateLink | None]
    corrections: list[Regrouped] = field(default_factory=list)
    # The batch's articles the index did not hold yet (not a redelivery, replay or re-ingest).
    new: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CopyPreview:
    """Which articles of a batch copy an article already tagged, looked up before tagging.

    ``sources`` maps a copy (exact duplicate, reprint, or a redelivered article already indexed)
    to the article whose entities it can take: an indexed one (its event is in ``stored_events``)
    or one earlier in the batch (by ingest time, then id: the order decisions are taken in).
    """

    sources: dict[str, str]
    stored_events: dict[str, bytes]


@dataclass
class _Member:
    """An article the batch can be compared with (from the index or earlier in the batch)."""

    article_id: str
    ingested_at: datetime
    shingles: list[int]
    shingle_set: frozenset[int]
    breaks: list[int]
    paragraphs: list[int]


@dataclass
class _Link:
    root_id: str
    kind: DuplicateKind | None
    similarity: float | None


class ReprintDetector:
    """Runs the decision for a batch against the durable index, under the dedupe lock."""

    def __init__(self, engine: Engine, index: DedupeIndex | None = None) -> None:
        self.engine = engine
        self.index = index or DedupeIndex()

    def decide(self, items: Sequence[DedupeItem]) -> DedupeResult:
        return self.decide_then(items, lambda _conn, _result: None)[0]

    def decide_then(
        self, items: Sequence[DedupeItem], then: Callable[[Connection, DedupeResult], T]
    ) -> tuple[DedupeResult, T]:
        """Decide, then run ``then`` in the same locked transaction (story assignment builds on the links)."""
        with self.engine.begin() as conn:
            self.index.lock(conn)
            result = _BatchDecision(self.index, conn).run(items)
            return result, then(conn, result)

    def preview(self, items: Sequence[DedupeItem]) -> CopyPreview:
        """The copies in ``items`` and what they copy, without the lock and without writing.

        Only an optimisation hint: the locked decision (:meth:`decide_then`) stays the one that
        links articles. Every source is a verified near-identical text whatever another replica
        decides meanwhile, so its entities stand for the copy's (see ``entities.copies``).
        """
        with self.engine.connect() as conn:
            decision = _BatchDecision(self.index, conn)
            sources = decision.copy_sources(items)
            in_batch = {item.article_id for item in decision.fresh}
            stored = self.index.events(conn, set(sources.values()) - in_batch)
            conn.rollback()
        usable = {copy: source for copy, source in sources.items() if source in stored or source in in_batch}
        return CopyPreview(usable, stored)


class _BatchDecision:
    """One locked decision: index rows fetched once up front, plus this batch's own articles."""

    def __init__(self, index: DedupeIndex, conn: Connection) -> None:
        self.index = index
        self.conn = conn
        self.members: dict[str, _Member] = {}  # comparable articles: fetched or earlier in the batch
        self.links: dict[str, _Link] = {}  # link of every article seen; a root links to itself
        self.root_times: dict[str, datetime] = {}
        self.regroups: list[tuple[str, DuplicateKind, float]] = []  # old root, evidence
        self.db_paragraph_groups: dict[int, int] = {}
        self.db_exact: dict[str, str] = {}
        self.db_postings: dict[int, list[str]] = {}
        self.db_anchor_counts: dict[int, int] = {}
        self.batch_paragraph_groups: Counter[int] = Counter()
        self.batch_anchor_counts: Counter[int] = Counter()
        self.batch_postings: dict[int, list[str]] = defaultdict(list)
        self.batch_exact: dict[str, str] = {}
        self.sources: dict[str, str] = {}  # a copy -> the closest member it was verified against
        self.fresh: list[DedupeItem] = []  # the batch's articles not yet indexed, in decision order

    # -----------------------------------------------------------------------------------
    def run(self, items: Sequence[DedupeItem]) -> DedupeResult:
        known = self._select_fresh(items)
        rows = self._decide_fresh()
        fresh = {item.article_id: item for item in self.fresh}
        corrections = self._apply_regroups(set(fresh))
        rows = [self._finalise(row) for row in rows]
        self.index.insert(self.conn, rows)

        result: dict[str, DuplicateLink | None] = {}
        for item in items:
            if item.article_id not in fresh:
                stored = known[item.article_id]
                self.links.setdefault(item.article_id, _Link(stored.root_id, stored.kind, stored.similarity))
            result[item.article_id] = self._duplicate(item.article_id)
        return DedupeResult(result, corrections, frozenset(fresh))

    def copy_sources(self, items: Sequence[DedupeItem]) -> dict[str, str]:
        """Decide in memory only: each copy's closest verified source (an indexed article is its own)."""
        known = self._select_fresh(items)
        self._decide_fresh()
        return {**{article_id: article_id for article_id in known}, **self.sources}

    def _select_fresh(self, items: Sequence[DedupeItem]) -> dict[str, StoredLink]:
        """The links of the batch's already indexed articles; the rest become ``fresh``."""
        known = self.index.links(self.conn, [i.article_id for i in items])
        fresh: dict[str, DedupeItem] = {}
        for item in sorted(items, key=decision_order):
            if item.article_id not in known:
                fresh.setdefault(item.article_id, item)  # the same article twice in a batch counts once
        self.fresh = list(fresh.values())
        return known

    def _decide_fresh(self) -> list[NewRow]:
        if not self.fresh:
            return []
        self._prefetch(self.fresh)
        return [self._decide(item) for item in self.fresh]

    # -----------------------------------------------------------------------------------
    def _prefetch(self, items: list[DedupeItem]) -> None:
        """Everything the batch needs from the index, in a handful of batched queries."""
        self.db_paragraph_groups = self.index.paragraph_groups(
            self.conn, (h for i in items for h in i.text.paragraph_hashes)
        )
        self.db_exact = self.index.by_content_hash(self.conn, (i.text.content_hash for i in items))
        # Anchors under the index's boilerplate: a superset of those each article ends up using.
        anchors_per_item = [self._content(i.text, with_batch=False).anchors for i in items]
        every_anchor = set().union(*anchors_per_item)
        self.db_postings = self.index.postings(self.conn, every_anchor)
        self.db_anchor_counts = {anchor: len(found) for anchor, found in self.db_postings.items()}
        wanted: set[str] = set(self.db_exact.values())
        for anchors in anchors_per_item:
            shared = Counter(
                article
                for anchor in anchors
                if self.db_anchor_counts.get(anchor, 0) <= MAX_ANCHOR_POSTINGS
                for article in self.db_postings.get(anchor, ())
            )
            wanted.update(article for article, _ in shared.most_common(MAX_CANDIDATES_PER_ARTICLE))
        fetched = self.index.texts(self.conn, wanted)
        # Group originals too: their paragraphs say which of a copy's paragraphs are its own.
        fetched.update(self.index.texts(self.conn, {t.root_id for t in fetched.values()} - set(fetched)))
        for row in fetched.values():
            self.members[row.article_id] = _Member(
                row.article_id, row.ingested_at, row.shingles, frozenset(row.shingles), row.breaks, row.paragraphs
            )
            self.links[row.article_id] = _Link(row.root_id, None, None)
            self.root_times[row.root_id] = row.root_ingested_at

    def _content(self, text: TextFingerprint, *, with_batch: bool) -> ContentFingerprint:
        def stories(h: int) -> int:
            return self.db_paragraph_groups.get(h, 0) + (self.batch_paragraph_groups[h] if with_batch else 0)

        return text.content({h for h in text.paragraph_hashes if stories(h) >= BOILERPLATE_MIN_STORIES})

    def _root_of(self, article_id: str) -> str:
        current = article_id
        for _ in range(len(self.links) + 1):
            link = self.links.get(current)
            if link is None or link.root_id == current:
                return current
            current = link.root_id
        raise RuntimeError(f"cycle in reprint groups at {article_id}")  # a bug, never data

    def _duplicate(self, article_id: str) -> DuplicateLink | None:
        root = self._root_of(article_id)
        if root == article_id:
            return None
        link = self.links[article_id]
        similarity = 1.0 if link.similarity is None else min(1.0, max(0.0, link.similarity))
        return DuplicateLink(duplicate_of=root, kind=link.kind or "reprint", similarity=similarity)

    # -----------------------------------------------------------------------------------
    def _decide(self, item: DedupeItem) -> NewRow:
        content = self._content(item.text, with_batch=True)
        matches: dict[str, tuple[DuplicateKind, float]] = {}  # group original -> best evidence
        matched_members: list[str] = []

        exact = self.db_exact.get(item.text.content_hash) or self.batch_exact.get(item.text.content_hash)
        closest: tuple[float, str] | None = None
        if exact is not None:
            matches[self._root_of(exact)] = ("exact", 1.0)
            matched_members.append(exact)
            closest = (_EXACT, exact)
        for candidate in self._candidates(content):
            member = self.members[candidate]
            similarity = reprint_similarity(content, member)
            if similarity is None:
                continue
            matched_members.append(candidate)
            if closest is None or similarity > closest[0]:
                closest = (similarity, candidate)
            root = self._root_of(candidate)
            if root not in matches or (matches[root][0] == "reprint" and matches[root][1] < similarity):
                matches[root] = ("reprint", similarity)

        if closest is not None:
            self.sources[item.article_id] = closest[1]
        self.root_times[item.article_id] = item.ingested_at
        original = min([item.article_id, *matches], key=lambda r: (self.root_times[r], r))
        for root, (kind, similarity) in matches.items():
            if root != original:
                # An earlier article joined this group, or this one bridges two: merge them.
                self.regroups.append((root, kind, similarity))
                self.links[root] = _Link(original, kind, similarity)
        if original == item.article_id:
            self.links[item.article_id] = _Link(item.article_id, None, None)
        else:
            kind, similarity = matches[original]
            self.links[item.article_id] = _Link(original, kind, similarity)
        return self._add_to_batch(item, content, matched_members)

    def _candidates(self, content: ContentFingerprint) -> list[str]:
        shared: Counter[str] = Counter()
        for anchor in content.anchors:
            if self._is_stock(anchor):
                continue
            shared.update(a for a in self.db_postings.get(anchor, ()) if a in self.members)
            shared.update(self.batch_postings.get(anchor, ()))
        return [article for article, _ in shared.most_common(MAX_CANDIDATES_PER_ARTICLE)]

    def _is_stock(self, anchor: int) -> bool:
        """A stock phrase: in too many articles to say anything about a shared passage."""
        return self.db_anchor_counts.get(anchor, 0) + self.batch_anchor_counts[anchor] > MAX_ANCHOR_POSTINGS

    def _add_to_batch(self, item: DedupeItem, content: ContentFingerprint, matched: list[str]) -> NewRow:
        self.members[item.article_id] = _Member(
            item.article_id,
            item.ingested_at,
            content.shingles,
            content.shingle_set,
            content.breaks,
            item.text.paragraph_hashes,
        )
        self.batch_exact.setdefault(item.text.content_hash, item.article_id)
        posted: list[int] = []
        for anchor in sorted(content.anchors):
            if self.db_anchor_counts.get(anchor, 0) + self.batch_anchor_counts[anchor] <= MAX_ANCHOR_POSTINGS:
                self.batch_postings[anchor].append(item.article_id)
                self.batch_anchor_counts[anchor] += 1
                posted.append(anchor)
        # A paragraph counts towards "boilerplate" once per story: a copy's own paragraphs (its
        # outlet's footer) count, the story text it shares with its group does not.
        group = {*matched, self._root_of(item.article_id)} - {item.article_id}
        group_paragraphs = {h for m in group if m in self.members for h in self.members[m].paragraphs}
        new_paragraphs = sorted(set(item.text.paragraph_hashes) - group_paragraphs)
        self.batch_paragraph_groups.update(new_paragraphs)
        return NewRow(
            article_id=item.article_id,
            root_id=item.article_id,  # set by _finalise once the whole batch is decided
            kind=None,
            similarity=None,
            ingested_at=item.ingested_at,
            content_hash=item.text.content_hash,
            shingles=content.shingles,
            breaks=content.breaks,
            paragraphs=item.text.paragraph_hashes,
            anchors=posted,
            new_paragraphs=new_paragraphs,
            event=item.event,
        )

    # -----------------------------------------------------------------------------------
    def _apply_regroups(self, batch_ids: set[str]) -> list[Regrouped]:
        """Merge groups in the index; return the earlier articles whose link changed."""
        changed: dict[str, Regrouped] = {}
        for old_root, kind, similarity in self.regroups:
            if old_root in batch_ids:
                continue  # not in the index yet: inserted with its final link
            new_root = self._root_of(old_root)
            log.info(
                "reprint groups merged under the earliest original",
                extra={"article_id": old_root, "duplicate_of": new_root, "kind": kind, "similarity": similarity},
            )
            for moved in self.index.regroup(self.conn, old_root, new_root, kind, similarity):
                if moved.article_id not in batch_ids:
                    changed[moved.article_id] = moved
        return list(changed.values())

    def _finalise(self, row: NewRow) -> NewRow:
        link = self._duplicate(row.article_id)
        if link is None:
            return row
        return replace(row, root_id=link.duplicate_of, kind=link.kind, similarity=link.similarity)
