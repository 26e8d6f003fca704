"""The story rule: how alike an article and a story are, and whether that is enough to join it.

Similarity is the mean of two cosines to the story's centroid: of the tf-idf term vectors (what
the text talks about) and of the entity vectors (who and what it is about). Two guards keep
merely topical articles apart (two lawsuits against one retailer, two concerts in one city):

- the term cosine alone must reach ``MIN_TEXT_SIMILARITY``: sharing the actors is not enough;
- when both sides name actors (people, organisations, events: not places), they share one.

Thresholds were set on the eval-dev BBC set and the five seeds (see ``bench/stories.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.enrich.stories.vectors import SparseVector, cosine
from services.enrich.stories.window import Span, gap_days, required_similarity

TEXT_WEIGHT = 0.5
MIN_TEXT_SIMILARITY = 0.25


@dataclass
class StoryState:
    """A story as assignment compares with and updates it (centroids are sums of normalised vectors)."""

    story_id: str
    terms: dict[int, float]
    entities: dict[str, float]
    actors: set[str]
    originals: int
    span: Span
    changed: bool = False


@dataclass(frozen=True)
class ArticleVectors:
    """One original article's vectors and time, ready to compare."""

    terms: SparseVector
    entities: dict[str, float]
    actors: frozenset[str]
    span: Span


def similarity(article: ArticleVectors, story: StoryState) -> float | None:
    """The article's similarity to the story if it may join it (time window and guards passed), else None."""
    required = required_similarity(gap_days(article.span, story.span))
    if required is None:
        return None
    text = cosine(article.terms, story.terms)
    if text < MIN_TEXT_SIMILARITY:
        return None
    if article.actors and story.actors and not (article.actors & story.actors):
        return None
    entities = cosine(article.entities, story.entities) if article.entities and story.entities else text
    score = TEXT_WEIGHT * text + (1.0 - TEXT_WEIGHT) * entities
    return score if score >= required else None
