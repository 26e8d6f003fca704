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

import heapq
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol, TypeVar

from sqlalchemy import Connection, Engine

from services.enrich.dedupe.fingerprint import ContentFingerprint, TextFingerprint
from services.enrich.dedupe.index import MAX_ANCHOR_POSTINGS, DedupeIndex, NewRow, Regrouped, StoredLink
from services.enrich.dedupe.letters import LetterText, anchor_modulus
from services.enrich.dedupe.matching import reprint_similarity
from services.enrich.dedupe.noisy import NoisyLinkModel, letter_evidence
from shared.events import DuplicateKind, DuplicateLink, LinkEvidence, LinkMethod

log = logging.getLogger(__name__)

# A paragraph seen in this many distinct stories is boilerplate (footer, bio, agency credit).
BOILERPLATE_MIN_STORIES = 3
# Candidates verified exactly per article, the ones sharing the most anchors with it.
MAX_CANDIDATES_PER_ARTICLE = 10
# A candidate the exact rule rejects is checked for a noisy copy only when it shares at least this
# many of the article's letter anchors, and this share of those a text of its length has:
# only a cheap pre-filter, far below what a scanned copy or a rewrite shares (~70 %), that skips
# articles sharing a phrase or two.
NOISY_MIN_SHARED_ANCHORS = 3
NOISY_MIN_SHARED_FRACTION = 0.2

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
    letters: LetterText


@dataclass
class _Link:
    root_id: str
    kind: DuplicateKind | None
    similarity: float | None
    evidence: LinkEvidence | None = None


# Stronger evidence wins when an article matches several members of one group.
_METHOD_RANK: dict[LinkMethod, int] = {"identical_text": 2, "shared_passages": 1, "noisy_text": 0}


@dataclass(frozen=True)
class _Match:
    """Evidence that an article copies a member of a group."""

    kind: DuplicateKind
    similarity: float
    evidence: LinkEvidence

    @property
    def strength(self) -> tuple[int, float]:
        return (_METHOD_RANK[self.evidence.method], self.similarity)

    @property
    def clean(self) -> bool:
        """Exact or shared-passage evidence: the copy's words are the member's (entities carry over)."""
        return self.evidence.method != "noisy_text"


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
            result = _BatchDecision(self.index, conn, self.model).run(items)
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
            decision = _BatchDecision(self.index, conn, None)
            sources = decision.copy_sources(items)
            in_batch = {item.article_id for item in decision.fresh}
            stored = self.index.events(conn, set(sources.values()) - in_batch)
            conn.rollback()
        usable = {copy: source for copy, source in sources.items() if source in stored or source in in_batch}
        return CopyPreview(usable, stored)


class _BatchDecision:
    """One locked decision: index rows fetched once up front, plus this batch's own articles."""

    def __init__(self, index: DedupeIndex, conn: Connection, model: NoisyLinkModel | None) -> None:
        self.index = index
        self.conn = conn
        self.model = model  # None: exact evidence only (the preview)
        self.members: dict[str, _Member] = {}  # comparable articles: fetched or earlier in the batch
        self.links: dict[str, _Link] = {}  # link of every article seen; a root links to itself
        self.root_times: dict[str, datetime] = {}
        self.regroups: list[tuple[str, _Match]] = []  # old root, the evidence that joined it
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
                self.links.setdefault(
                    item.article_id, _Link(stored.root_id, stored.kind, stored.similarity, stored.evidence)
                )
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
        contents = [self._content(i.text, with_batch=False) for i in items]
        postings = self.index.postings(self.conn, set().union(*(c.anchors for c in contents)))
        self.db_postings, self.db_anchor_counts = postings.articles, postings.counts
        wanted: set[str] = set(self.db_exact.values())
        for content in contents:
            found = (
                (anchor, self.db_postings.get(anchor, ()))
                for anchor in content.anchors
                if self.db_anchor_counts.get(anchor, 0) <= MAX_ANCHOR_POSTINGS
            )
            wanted.update(article for article, _ in _ranked_candidates(content, found))
        fetched = self.index.texts(self.conn, wanted)
        # Group originals too: their paragraphs say which of a copy's paragraphs are its own.
        fetched.update(self.index.texts(self.conn, {t.root_id for t in fetched.values()} - set(fetched)))
        for row in fetched.values():
            self.members[row.article_id] = _Member(
                row.article_id,
                row.ingested_at,
                row.shingles,
                frozenset(row.shingles),
                row.breaks,
                row.paragraphs,
                LetterText.parse(row.content_words),
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
        return DuplicateLink(
            duplicate_of=root, kind=link.kind or "reprint", similarity=similarity, evidence=link.evidence
        )

    # -----------------------------------------------------------------------------------
    def _decide(self, item: DedupeItem) -> NewRow:
        content = self._content(item.text, with_batch=True)
        letters = content.letters
        matches: dict[str, _Match] = {}  # group original -> best evidence
        matched_members: list[str] = []
        closest: tuple[float, str] | None = None  # the closest clean copy: the entities' source

        def consider(member: str, match: _Match) -> None:
            matched_members.append(member)
            root = self._root_of(member)
            if root not in matches or match.strength > matches[root].strength:
                matches[root] = match

        exact = self.db_exact.get(item.text.content_hash) or self.batch_exact.get(item.text.content_hash)
        if exact is not None:
            consider(exact, _Match("exact", 1.0, LinkEvidence(method="identical_text", matched_article=exact)))
            closest = (_EXACT, exact)
        for candidate, shared_letter_anchors in self._candidates(content):
            member = self.members[candidate]
            similarity = reprint_similarity(content, member)
            if similarity is not None:
                passages = LinkEvidence(
                    method="shared_passages", matched_article=candidate, passage_overlap=round(similarity, 4)
                )
                consider(candidate, _Match("reprint", similarity, passages))
                if closest is None or similarity > closest[0]:
                    closest = (similarity, candidate)
            elif self._worth_noisy_check(content, shared_letter_anchors, candidate, matches):
                noisy = self._noisy_match(letters, member)
                if noisy is not None:
                    consider(candidate, noisy)

        if closest is not None:
            self.sources[item.article_id] = closest[1]
        self.root_times[item.article_id] = item.ingested_at
        original = min([item.article_id, *matches], key=lambda r: (self.root_times[r], r))
        if original == item.article_id:
            self.links[item.article_id] = _Link(item.article_id, None, None)
        else:
            best = matches[original]
            self.links[item.article_id] = _Link(original, best.kind, best.similarity, best.evidence)
        row = self._add_to_batch(item, content, letters, matched_members)
        for root, match in matches.items():
            if root != original:
                # An earlier article joined this group, or this one bridges two: merge them.
                joined = self._joining_evidence(root, original, item.article_id, match)
                self.regroups.append((root, joined))
                self.links[root] = _Link(original, joined.kind, joined.similarity, joined.evidence)
        return row

    def _joining_evidence(self, root: str, original: str, article: str, match: _Match) -> _Match:
        """The evidence recorded for a group's former original ``root`` now under ``original``.

        ``match`` is how ``article`` (the one being decided) matched a member of ``root``'s group;
        when that member is ``root`` itself, it is ``root``'s evidence too (compared with
        ``article``). Otherwise ``root`` is compared with ``original``, then with ``article``, so its
        figures describe its own text; only when neither matches on its own does it keep the
        comparison that merged the groups.
        """
        if match.evidence.matched_article == root:
            return replace(match, evidence=match.evidence.model_copy(update={"matched_article": article}))
        for other in dict.fromkeys((original, article)):
            direct = self._direct_match(root, other)
            if direct is not None:
                return direct
        return match

    def _direct_match(self, copy: str, other: str) -> _Match | None:
        """Exact-rule, then noisy evidence that member ``copy`` copies member ``other``."""
        a, b = self.members.get(copy), self.members.get(other)
        if a is None or b is None:
            return None
        similarity = reprint_similarity(a, b)
        if similarity is not None:
            passages = LinkEvidence(
                method="shared_passages", matched_article=other, passage_overlap=round(similarity, 4)
            )
            return _Match("reprint", similarity, passages)
        return self._noisy_match(a.letters, b) if self.model is not None else None

    def _candidates(self, content: ContentFingerprint) -> list[tuple[str, int]]:
        """The articles sharing the most anchors with ``content``, each with how many letter anchors it shares."""
        found = (
            (
                anchor,
                [a for a in self.db_postings.get(anchor, ()) if a in self.members]
                + self.batch_postings.get(anchor, []),
            )
            for anchor in content.anchors
            if not self._is_stock(anchor)
        )
        return _ranked_candidates(content, found)

    def _worth_noisy_check(
        self, content: ContentFingerprint, shared_letter_anchors: int, candidate: str, matches: dict[str, _Match]
    ) -> bool:
        if self.model is None:
            return False
        if self._root_of(candidate) in matches:
            return False  # its group is matched already (noisy evidence adds nothing to clean)
        return shared_letter_anchors >= _letter_anchors_needed(content)

    def _noisy_match(self, letters: LetterText, member: _Member) -> _Match | None:
        assert self.model is not None
        found = letter_evidence(letters, member.letters)
        if found is None:
            return None
        if not self.model.links(found):
            return None
        confidence = self.model.probability(found)
        evidence = LinkEvidence(
            method="noisy_text",
            matched_article=member.article_id,
            letter_overlap=round(found.coverage, 4),
            weakest_stretch=round(found.weakest_stretch, 4),
            confidence=round(confidence, 4),
        )
        return _Match("reprint", found.coverage, evidence)

    def _is_stock(self, anchor: int) -> bool:
        """A stock phrase: in too many articles to say anything about a shared passage."""
        return self.db_anchor_counts.get(anchor, 0) + self.batch_anchor_counts[anchor] > MAX_ANCHOR_POSTINGS

    def _add_to_batch(
        self, item: DedupeItem, content: ContentFingerprint, letters: LetterText, matched: list[str]
    ) -> NewRow:
        self.members[item.article_id] = _Member(
            item.article_id,
            item.ingested_at,
            content.shingles,
            content.shingle_set,
            content.breaks,
            item.text.paragraph_hashes,
            letters,
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
            content_words=content.letters.stored(),
        )

    # -----------------------------------------------------------------------------------
    def _apply_regroups(self, batch_ids: set[str]) -> list[Regrouped]:
        """Merge groups in the index; return the earlier articles whose link changed."""
        changed: dict[str, Regrouped] = {}
        for old_root, match in self.regroups:
            if old_root in batch_ids:
                continue  # not in the index yet: inserted with its final link
            new_root = self._root_of(old_root)
            log.info(
                "reprint groups merged under the earliest original",
                extra={
                    "article_id": old_root,
                    "duplicate_of": new_root,
                    "kind": match.kind,
                    "similarity": match.similarity,
                    "evidence": match.evidence.method,
                },
            )
            moved_rows = self.index.regroup(self.conn, old_root, new_root, match.kind, match.similarity, match.evidence)
            for moved in moved_rows:
                if moved.article_id not in batch_ids:
                    changed[moved.article_id] = moved
        return list(changed.values())

    def _finalise(self, row: NewRow) -> NewRow:
        link = self._duplicate(row.article_id)
        if link is None:
            return row
        return replace(
            row, root_id=link.duplicate_of, kind=link.kind, similarity=link.similarity, evidence=link.evidence
        )


def _letter_anchors_needed(content: ContentFingerprint) -> float:
    """How many letter anchors a candidate must share with ``content`` to be checked as a noisy copy.

    Relative to the anchors sampled at the rate of a text a little longer: a copy one length tier
    up samples half as densely, and the two share only its sparser anchors.
    """
    length = len(content.letters.letters)
    expected = length / (2 * anchor_modulus(length))  # a copy a little longer may sample half as densely
    return max(NOISY_MIN_SHARED_ANCHORS, NOISY_MIN_SHARED_FRACTION * expected)


def _ranked_candidates(
    content: ContentFingerprint, postings: Iterable[tuple[int, Sequence[str]]]
) -> list[tuple[str, int]]:
    """The ``MAX_CANDIDATES_PER_ARTICLE`` articles sharing the most anchors, with their shared letter anchors.

    A candidate shares a word anchor (a 5-word passage: worth verifying exactly) or enough letter
    anchors to be worth a noisy check; a few letter runs in common ("governmentof") are chance.
    """
    shared: Counter[str] = Counter()
    by_letters: Counter[str] = Counter()
    for anchor, found in postings:
        shared.update(found)
        if anchor in content.letter_anchors:
            by_letters.update(found)
    needed = _letter_anchors_needed(content)
    eligible = (
        (-count, article)
        for article, count in shared.items()
        if count > by_letters[article] or by_letters[article] >= needed
    )
    return [(article, by_letters[article]) for _, article in heapq.nsmallest(MAX_CANDIDATES_PER_ARTICLE, eligible)]
