"""The story rule: how alike an article and a story are, and whether that is enough to join it.

The score averages two term sub-vectors' cosines (``vectors``), the *lead* (headline and opening
lines: what happened, to whom) and the whole *text* (tf-idf over the archive's document
frequencies), each averaged over the story's original articles (``score``: average link, so a
story does not drift to its topic as it grows). Independent reports of one event share
the rare words of the event (names, places, the thing that happened) in both; two merely topical
articles share common words, or one name, in one of them.

Entities are not part of the score, only of finding candidates (``assigner``): on half A of the
SemEval dev pairs the entity cosine alone told same-event from unrelated pairs far worse than the
lead cosine (ROC AUC 0.80 against 0.996, tf-idf over the pairs' texts), since a small tagger
names two outlets' reports of one event differently; and a story whose articles share one
dominant name (two lawsuits against one retailer) is what entity agreement would merge.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.enrich.stories.vectors import SparseVector, dot
from services.enrich.stories.window import Span, gap_days, required_similarity

LEAD_WEIGHT = 0.5


@dataclass
class StoryState:
    """A story as assignment compares with and updates it (centroids are sums of normalised vectors)."""

    story_id: str
    terms: dict[int, float]
    lead: dict[int, float]
    entities: dict[str, float]
    actors: set[str]
    originals: int
    span: Span
    changed: bool = False


@dataclass(frozen=True)
class ArticleVectors:
    """One original article's vectors and time, ready to compare."""

    terms: SparseVector
    lead: SparseVector
    entities: dict[str, float]
    actors: frozenset[str]
    span: Span


def score(article: ArticleVectors, story: StoryState) -> float:
    """The article's mean similarity to the story's original articles, whatever their times.

    A centroid is the sum of its members' normalised vectors, so the dot product over the
    member count is the mean of the article's cosines with each member (average link). Unlike
    the cosine with the centroid's direction, it does not grow as a story grows: the centroid of
    many loosely related articles points at their shared topic, which any article of that topic
    matches, and a story compared that way swallows its whole section (drift). The mean
    cosine is the cosine with the centroid times the story's cohesion (the length of the mean
    vector): a tight story keeps its similarity, a loose one loses it.
    """
    members = max(1, story.originals)
    text = dot(article.terms, story.terms) / members
    lead = dot(article.lead, story.lead) / members if article.lead and story.lead else text
    return LEAD_WEIGHT * lead + (1.0 - LEAD_WEIGHT) * text


def similarity(article: ArticleVectors, story: StoryState) -> float | None:
    """The article's similarity to the story if it may join it (close enough in time and alike enough), else None."""
    required = required_similarity(gap_days(article.span, story.span))
    if required is None:
        return None
    found = score(article, story)
    return found if found >= required else None
