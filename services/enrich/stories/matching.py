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

Names still count through their words, and one name alone can carry a score: two reports on one
company about different events (two lawsuits against one retailer in the BBC set) share its name
in every lead and score 0.23, of which 0.04 is left without the name. So a join also needs the
*residual* score (``residual``: the score with the article's most-shared name left out) to reach
``NAME_RESIDUAL_SHARE`` of the required similarity. Reports of one event share its other names and
its event words too (two reports of a fugitive's escape: 0.31, and 0.16 without his name).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from services.enrich.stories.vectors import SparseVector, dot, normalised
from services.enrich.stories.window import Span, gap_days, required_similarity

LEAD_WEIGHT = 0.5
# The share of the required similarity that must remain without the article's most-shared name
# (chosen on half A of the SemEval dev pairs and the BBC set; half B played no part in it).
NAME_RESIDUAL_SHARE = 0.5


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
    names: tuple[frozenset[int], ...] = ()  # each entity's term keys (``vectors.name_terms``)


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


def residual(article: ArticleVectors, story: StoryState) -> float:
    """The score with the terms of the article's most-shared name (the entity adding most to it) left out.

    The article's vectors lose that name's terms and are normalised again; the story's stay
    whole. What is left is the evidence beyond one name: the event's other names and words.
    """

    def share(terms: frozenset[int]) -> float:
        return sum(article.terms.get(t, 0.0) * story.terms.get(t, 0.0) for t in terms) + sum(
            article.lead.get(t, 0.0) * story.lead.get(t, 0.0) for t in terms
        )

    shares = [(share(terms), terms) for terms in article.names]
    top, terms = max(shares, key=lambda st: st[0], default=(0.0, frozenset[int]()))
    if top <= 0.0:
        return score(article, story)
    left = replace(
        article,
        terms=normalised({t: w for t, w in article.terms.items() if t not in terms}),
        lead=normalised({t: w for t, w in article.lead.items() if t not in terms}),
    )
    return score(left, story) if left.terms else 0.0


def similarity(article: ArticleVectors, story: StoryState) -> float | None:
    """The article's similarity to the story if it may join it, else None.

    It may when close enough in time, alike enough, and alike not by one name alone.
    """
    required = required_similarity(gap_days(article.span, story.span))
    if required is None:
        return None
    found = score(article, story)
    if found < required or residual(article, story) < NAME_RESIDUAL_SHARE * required:
        return None
    return found
