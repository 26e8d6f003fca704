"""One locked reprint decision for a batch: candidates from the index, exact then noisy verification,
groups merged under their earliest member (see ``detector`` for the locking and the rules)."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection

from services.enrich.dedupe.candidates import letter_anchors_needed, ranked_candidates
from services.enrich.dedupe.decision_types import DedupeItem, DedupeResult, decision_order
from services.enrich.dedupe.fingerprint import ContentFingerprint, TextFingerprint
from services.enrich.dedupe.index import MAX_ANCHOR_POSTINGS, DedupeIndex, NewRow, Regrouped, StoredLink
from services.enrich.dedupe.letters import LetterText
from services.enrich.dedupe.matching import reprint_similarity
from services.enrich.dedupe.noisy import NoisyLinkModel, letter_evidence
from shared.events import DuplicateKind, DuplicateLink, LinkEvidence, LinkMethod

log = logging.getLogger("services.enrich.dedupe.detector")

# A paragraph seen in this many distinct stories is boilerplate (footer, bio, agency credit).
BOILERPLATE_MIN_STORIES = 3


# Ranks an identical text above any reprint similarity (which is at most 1.0).
_EXACT = 2.0


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


class BatchDecision:
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
            wanted.update(article for article, _ in ranked_candidates(content, found))
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
        return ranked_candidates(content, found)

    def _worth_noisy_check(
        self, content: ContentFingerprint, shared_letter_anchors: int, candidate: str, matches: dict[str, _Match]
    ) -> bool:
        if self.model is None:
            return False
        if self._root_of(candidate) in matches:
            return False  # its group is matched already (noisy evidence adds nothing to clean)
        return shared_letter_anchors >= letter_anchors_needed(content)

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
