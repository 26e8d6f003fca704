"""The story rule's name check: a join must rest on more than one shared name (``matching.residual``).

Pure: the vectors are built by the functions assignment uses, with given entities (no tagger) and
plain term frequency (an empty index), and compared with a one-article story directly.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.enrich.stories.matching import (
    NAME_RESIDUAL_SHARE,
    ArticleVectors,
    StoryState,
    residual,
    score,
    similarity,
)
from services.enrich.stories.vectors import content_terms, name_terms, term_counts, term_vector
from services.enrich.stories.window import MIN_SIMILARITY, Span
from shared.events import EntityRef, EntityType
from shared.identity import entity_id
from tests.enrich.conftest import make_article

AT = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def _entity(kind: EntityType, name: str, count: int = 2) -> EntityRef:
    return EntityRef(id=entity_id(kind, name), name=name, type=kind, mentions=[name], count=count)


def _vectors(title: str, body: str, entities: list[EntityRef]) -> ArticleVectors:
    counts = term_counts(make_article(f"{title}.txt", body, title=title))
    return ArticleVectors(
        term_vector(counts.text, {}, 0),
        term_vector(counts.lead, {}, 0, keep=None),
        {},
        frozenset(),
        Span.of_article(None, AT),
        name_terms(entities),
    )


def _story(first: ArticleVectors) -> StoryState:
    return StoryState("story", dict(first.terms), dict(first.lead), {}, set(), 1, first.span)


BRAMBLEWOOD = _entity("ORG", "Bramblewood Foods")
LAWSUIT = _vectors(
    "Bramblewood Foods sued over pension cuts",
    "Bramblewood Foods is being sued by former warehouse staff who say Bramblewood Foods cut their "
    "pensions unlawfully. The claim, filed in a district court, seeks back payments for retirees.",
    [BRAMBLEWOOD],
)
SPONSORSHIP = _vectors(
    "Bramblewood Foods to sponsor marathon",
    "Bramblewood Foods will sponsor the city marathon for three seasons, Bramblewood Foods announced. "
    "Runners will wear the brand on their bibs and the route passes the riverside stadium.",
    [BRAMBLEWOOD],
)
LAWSUIT_ELSEWHERE = _vectors(
    "Retirees take Bramblewood Foods to court",
    "Former warehouse staff at Bramblewood Foods have sued the grocer in a district court, saying their "
    "pensions were cut unlawfully; retirees want back payments.",
    [BRAMBLEWOOD],
)


def test_name_terms_are_each_entitys_content_words() -> None:
    (terms,) = name_terms([BRAMBLEWOOD])
    assert terms == frozenset(content_terms("Bramblewood Foods"))
    assert name_terms([_entity("PERSON", "Li")]) == ()  # no content word: nothing to leave out


def test_two_events_of_one_company_do_not_join_on_its_name_alone() -> None:
    story = _story(LAWSUIT)
    # The name alone makes them look alike ...
    assert score(SPONSORSHIP, story) >= MIN_SIMILARITY
    # ... but without it little is left, so the article starts its own story.
    assert residual(SPONSORSHIP, story) < NAME_RESIDUAL_SHARE * MIN_SIMILARITY
    assert similarity(SPONSORSHIP, story) is None


def test_two_reports_of_one_event_share_more_than_the_name_and_join() -> None:
    story = _story(LAWSUIT)
    assert residual(LAWSUIT_ELSEWHERE, story) >= NAME_RESIDUAL_SHARE * MIN_SIMILARITY
    assert similarity(LAWSUIT_ELSEWHERE, story) == pytest.approx(score(LAWSUIT_ELSEWHERE, story))


def test_without_tagged_names_the_residual_is_the_score() -> None:
    untagged = ArticleVectors(LAWSUIT_ELSEWHERE.terms, LAWSUIT_ELSEWHERE.lead, {}, frozenset(), LAWSUIT_ELSEWHERE.span)
    story = _story(LAWSUIT)
    assert residual(untagged, story) == pytest.approx(score(untagged, story))
    assert similarity(untagged, story) is not None


def test_an_article_that_is_only_the_name_has_no_residual() -> None:
    only_name = _vectors("Bramblewood Foods", "Bramblewood Foods.", [BRAMBLEWOOD])
    assert only_name.terms
    assert residual(only_name, _story(LAWSUIT)) == 0.0
    assert similarity(only_name, _story(LAWSUIT)) is None
