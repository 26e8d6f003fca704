"""Deciding, for a batch, which story each article joins or starts.

Runs inside the reprint decision's transaction, after it, under the same advisory lock (see
``dedupe.detector``): one critical section for both decisions, so every replica sees every
earlier story decision and two replicas group articles exactly as one would. Vectors are built
from the index's document frequencies as of the batch start; the expensive part (tokenising) is
done before the lock (``StoryItem.of``).

- A reprint or exact copy takes its original's story.
- An earlier original that just became the head of an existing reprint group takes that group's
  story (its copies were decided first).
- Any other original is compared with the candidate stories: the recently active stories
  sharing one of its salient keys (its heaviest terms and entities; ``index.postings``), the
  ``MAX_CANDIDATES`` sharing most; it joins the most similar one that passes ``matching``'s rule,
  or starts a story of its own.
- Articles whose reprint group moved under another original (a correction) move to that
  original's story.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy import Connection

from services.enrich.stories.index import StoryIndex
from services.enrich.stories.matching import ArticleVectors, StoryState, similarity
from services.enrich.stories.vectors import (
    TermCounts,
    actors,
    entity_vector,
    key_of,
    name_terms,
    term_counts,
    term_vector,
)
from services.enrich.stories.window import Span
from shared.events import EntityRef, RawArticle
from shared.identity import story_id

log = logging.getLogger(__name__)
K = TypeVar("K", int, str)

MAX_CANDIDATES = 16
# Salient keys an article is found (and posts its story) under.
KEY_TERMS = 12
KEY_ENTITIES = 8
# Centroid sizes kept per story: its heaviest terms and entities.
STORY_TERMS = 200
STORY_LEAD_TERMS = 100
STORY_ENTITIES = 40


@dataclass(frozen=True)
class StoryItem:
    """One article of the batch with what assignment needs, computed before the lock."""

    article_id: str
    span: Span
    terms: TermCounts
    entities: dict[str, float]
    actors: frozenset[str]
    names: tuple[frozenset[int], ...] = ()

    @classmethod
    def of(cls, article: RawArticle, entities: list[EntityRef]) -> StoryItem:
        return cls(
            article_id=article.article_id,
            span=Span.of_article(article.published_at, article.ingested_at),
            terms=term_counts(article),
            entities=entity_vector(entities),
            actors=actors(entities),
            names=name_terms(entities),
        )


@dataclass
class StoryResult:
    """The story of every article of the batch, and of every corrected (regrouped) article."""

    stories: dict[str, str]
    corrections: dict[str, str] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)


class StoryAssigner:
    """Assigns stories inside the caller's locked transaction."""

    def __init__(self, index: StoryIndex | None = None) -> None:
        self.index = index or StoryIndex()

    def assign(
        self,
        conn: Connection,
        items: Sequence[StoryItem],
        roots: Mapping[str, str | None],
        moved: Sequence[tuple[str, str]] = (),
    ) -> StoryResult:
        """``roots``: each batch article's group original (None for an original); ``moved``: (article, new original)."""
        return _BatchAssignment(self.index, conn).run(items, roots, moved)


class _BatchAssignment:
    def __init__(self, index: StoryIndex, conn: Connection) -> None:
        self.index = index
        self.conn = conn
        self.assigned: dict[str, str] = {}  # article -> story, known or decided now
        self.states: dict[str, StoryState] = {}
        self.db_postings: dict[int, list[str]] = {}
        self.batch_postings: dict[int, list[str]] = defaultdict(list)
        self.keys: dict[tuple[int, str], datetime] = {}
        self.new_members: dict[str, str] = {}
        self.term_documents: Counter[int] = Counter()
        self.new_documents = 0
        self.outcomes: Counter[str] = Counter()

    def run(
        self, items: Sequence[StoryItem], roots: Mapping[str, str | None], moved: Sequence[tuple[str, str]]
    ) -> StoryResult:
        # In the order the events happened (publication day, else arrival): a story starts from its
        # earliest report, and a follow-up months later meets the story it follows, not the reverse.
        ordered = sorted({i.article_id: i for i in items}.values(), key=_chronological)
        wanted = (
            {i.article_id for i in ordered} | {r for r in roots.values() if r} | {m for pair in moved for m in pair}
        )
        self.assigned = self.index.members(self.conn, wanted)
        heads = defaultdict(list)  # new group original -> its moved copies
        for article, root in moved:
            heads[root].append(article)
        fresh = [i for i in ordered if i.article_id not in self.assigned]
        vectors = self._prefetch(fresh, roots)
        for item in fresh:
            self._decide(item, roots.get(item.article_id), heads.get(item.article_id, []), vectors)
        corrections = self._move(moved)
        self.index.save(
            self.conn,
            stories=[s for s in self.states.values() if s.changed],
            members=self.new_members,
            keys=self.keys,
            term_documents=self.term_documents,
            new_documents=self.new_documents,
        )
        return StoryResult({i.article_id: self.assigned[i.article_id] for i in items}, corrections, self.outcomes)

    # -----------------------------------------------------------------------------------
    def _prefetch(self, fresh: list[StoryItem], roots: Mapping[str, str | None]) -> dict[str, ArticleVectors]:
        """Frequencies, postings and candidate stories for the whole batch, in a few batched statements."""
        documents = self.index.documents(self.conn)
        originals = [i for i in fresh if roots.get(i.article_id) is None]
        df = self.index.document_frequencies(self.conn, (t for i in originals for t in i.terms.text))
        vectors = {
            i.article_id: ArticleVectors(
                term_vector(i.terms.text, df, documents),
                term_vector(i.terms.lead, df, documents, keep=None),
                i.entities,
                i.actors,
                i.span,
                i.names,
            )
            for i in fresh
        }
        self.db_postings = self.index.postings(self.conn, (k for v in vectors.values() for k in _keys(v)))
        wanted: set[str] = set(self.assigned.values())
        for v in vectors.values():
            shared = Counter(s for k in _keys(v) for s in self.db_postings.get(k, ()))
            wanted.update(s for s, _ in shared.most_common(MAX_CANDIDATES))
        self.states = self.index.stories(self.conn, wanted)
        return vectors

    def _decide(self, item: StoryItem, root: str | None, copies: list[str], vectors: dict[str, ArticleVectors]) -> None:
        inherited: str | None = None
        if root is not None:
            inherited = self.assigned.get(root)
        elif copies:
            found = Counter(self.assigned[c] for c in copies if c in self.assigned)
            inherited = min(found, key=lambda s: (-found[s], s)) if found else None
        if inherited is not None and inherited in self.states:
            self._record(item.article_id, inherited, "inherited")
            story = self.states[inherited]
            story.span, story.changed = story.span.widened(item.span), True
            return
        if inherited is not None:  # the story's row is not loaded (cannot happen under the lock; be safe)
            self._record(item.article_id, inherited, "inherited")
            return
        # An original (or a copy whose original predates stories): compare with the candidates.
        article = vectors[item.article_id]
        best: tuple[float, str] | None = None
        for candidate in self._candidates(article):
            score = similarity(article, self.states[candidate])
            if score is not None and (best is None or (score, candidate) > best):
                best = (score, candidate)
        if best is None:
            story = StoryState(story_id(item.article_id), {}, {}, {}, set(), 0, item.span)
            self.states[story.story_id] = story
            outcome = "started"
        else:
            story = self.states[best[1]]
            outcome = "joined"
        self._join(story, item, article)
        self._record(item.article_id, story.story_id, outcome)

    def _candidates(self, article: ArticleVectors) -> list[str]:
        shared: Counter[str] = Counter()
        for key in _keys(article):
            shared.update(s for s in self.db_postings.get(key, ()) if s in self.states)
            shared.update(self.batch_postings.get(key, ()))
        return [s for s, _ in shared.most_common(MAX_CANDIDATES)]

    def _join(self, story: StoryState, item: StoryItem, article: ArticleVectors) -> None:
        for term, weight in article.terms.items():
            story.terms[term] = story.terms.get(term, 0.0) + weight
        for term, weight in article.lead.items():
            story.lead[term] = story.lead.get(term, 0.0) + weight
        for entity, weight in article.entities.items():
            story.entities[entity] = story.entities.get(entity, 0.0) + weight
        story.terms = _heaviest(story.terms, STORY_TERMS)
        story.lead = _heaviest(story.lead, STORY_LEAD_TERMS)
        story.entities = _heaviest(story.entities, STORY_ENTITIES)
        story.actors = (story.actors | set(article.actors)) & set(story.entities)
        story.originals += 1
        story.span = story.span.widened(item.span) if story.originals > 1 else item.span
        story.changed = True
        for key in _keys(article):
            if story.story_id not in self.batch_postings[key]:
                self.batch_postings[key].append(story.story_id)
            posted = self.keys.get((key, story.story_id), item.span.last_seen)
            self.keys[(key, story.story_id)] = max(item.span.last_seen, posted)
        self.term_documents.update(item.terms.text.keys())
        self.new_documents += 1

    def _record(self, article_id: str, story: str, outcome: str) -> None:
        self.assigned[article_id] = story
        self.new_members[article_id] = story
        self.outcomes[outcome] += 1

    def _move(self, moved: Sequence[tuple[str, str]]) -> dict[str, str]:
        """Regrouped articles follow their new original into its story."""
        corrections: dict[str, str] = {}
        for article, root in moved:
            target = self.assigned.get(root) or self.assigned.get(article)
            if target is None:
                continue
            if self.assigned.get(article) != target:
                log.info("article moved to its new original's story", extra={"article_id": article, "story_id": target})
                self.assigned[article] = target
                self.new_members[article] = target
            corrections[article] = target
        return corrections


def _chronological(item: StoryItem) -> tuple[date, datetime, str]:
    return (item.span.first_day or item.span.first_seen.date(), item.span.first_seen, item.article_id)


def _heaviest(vector: dict[K, float], keep: int) -> dict[K, float]:
    return dict(sorted(vector.items(), key=lambda kv: (-kv[1], kv[0]))[:keep])


def _keys(article: ArticleVectors) -> list[int]:
    """The salient keys of an article: its heaviest terms and entities (already hashed terms; entity ids hashed)."""
    terms = sorted(article.terms.items(), key=lambda kv: (-kv[1], kv[0]))[:KEY_TERMS]
    entities = sorted(article.entities.items(), key=lambda kv: (-kv[1], kv[0]))[:KEY_ENTITIES]
    return [t for t, _ in terms] + [key_of("e", e) for e, _ in entities]
