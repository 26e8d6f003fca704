"""``GET /entities/{key}/related`` over many matches: counted on slices of the id space and scaled up.

On the larger generated archive with a small sample size, a sampled answer is checked against
plain SQL: |A| and each |A and B| are the subject's matching articles in the subject's slice
(``sample.share``), N and each |B| the matching articles in the total's slice
(``sample.total_share``), each scaled up, with |B| at least |A and B| and N at least |A|; the
scores are the estimates' own, the floor applies to the sampled shared articles, and every
margin is the binomial one of its slice. ``exact=true`` is the plain count of every match.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.store.db.queries.facet_sample import Sample
from shared.config import Settings
from tests.api.counts_archive import reference_rows
from tests.api.test_related import _ROOTS_SQL, Expected, _check, _expected, _ordered, _shown, _subject_root

# A sample size under which the subject's articles are counted whole and only N and |B| sampled.
_TOTAL_ONLY_SAMPLE_ARTICLES = 200
_EVERY_ENTITY = {"min_count": "1", "limit": "100"}


@pytest.fixture(scope="module")
def total_sampling_client(larger_database_url: str) -> Iterator[TestClient]:
    settings = Settings(database_url=larger_database_url, facet_sample_articles=_TOTAL_ONLY_SAMPLE_ARTICLES)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _related(client: TestClient, subject: str, params: dict[str, str]) -> dict[str, Any]:
    response = client.get(f"/entities/{subject}/related", params=params)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _slice(share: float) -> Sample | None:
    """The slice of a share the answer gives (1: every article)."""
    return None if share == 1.0 else Sample(round(-math.log2(share)))


def _named(database_url: str, params: dict[str, str], sample: Sample | None) -> dict[str, set[str]]:
    """Each matching article (in the slice) with the roots it names, and each root's name and type."""
    sql = _ROOTS_SQL if sample is None else _ROOTS_SQL + " AND a.article_id < %(below)s"
    values = params if sample is None else {**params, "below": sample.below}
    named: dict[str, set[str]] = defaultdict(set)
    for article_id, root, _name, _type in reference_rows(database_url, sql, values):
        roots = named[article_id]
        if root is not None:
            roots.add(root)
    return named


def _entities(database_url: str) -> dict[str, tuple[str, str]]:
    rows = reference_rows(database_url, "SELECT id, name, type FROM entities", {})
    return {id_: (name, type_) for id_, name, type_ in rows}


def _sampled_expected(
    database_url: str, params: dict[str, str], subject: str, subject_sample: Sample | None, total_sample: Sample | None
) -> tuple[Expected, list[tuple[int, int]], tuple[int, int]]:
    """N, |A| and every floored root's row, from plain counts of the two slices scaled up.

    Also each row's (margin, total_margin), in the rows' order, and the slices' article counts.
    """
    root = _subject_root(database_url, subject)
    in_subject_slice = _named(database_url, params, subject_sample)
    in_total_slice = _named(database_url, params, total_sample)
    entities = _entities(database_url)
    subject_scale = 1 if subject_sample is None else 2**subject_sample.bits
    total_scale = 1 if total_sample is None else 2**total_sample.bits
    subject_articles = [roots for roots in in_subject_slice.values() if root in roots]
    count_a = len(subject_articles) * subject_scale
    total = max(len(in_total_slice) * total_scale, count_a)
    together: dict[str, int] = defaultdict(int)
    for roots in subject_articles:
        for other in roots - {root}:
            together[other] += 1
    related, margins = [], {}
    min_count = int(params.get("min_count", "2"))
    for other, sampled in together.items():
        if sampled < min_count:
            continue
        alone = sum(other in roots for roots in in_total_slice.values())
        count, other_total = sampled * subject_scale, max(alone * total_scale, sampled * subject_scale)
        lift = Decimal(count * total) / Decimal(count_a * other_total)
        always_together = count == count_a == other_total
        npmi = Decimal(1) if always_together else lift.ln() / -(Decimal(count) / Decimal(total)).ln()
        related.append((other, *entities[other], count, other_total, _shown(lift), _shown(npmi)))
        margins[other] = (
            0 if subject_sample is None else subject_sample.margin(sampled),
            0 if total_sample is None else total_sample.margin(max(alone, 1)),
        )
    expected = Expected(total=total, count=count_a, related=related)
    ordered = _ordered(related, params.get("sort", "lift"))[: int(params.get("limit", "10"))]
    return expected, [margins[row[0]] for row in ordered], (len(subject_articles), len(in_total_slice))


def _check_sampled(client: TestClient, database_url: str, subject: str, params: dict[str, str]) -> dict[str, Any]:
    answer = _related(client, subject, params)
    sample = answer["sample"]
    subject_sample, total_sample = _slice(sample["share"]), _slice(sample["total_share"])
    expected, margins, (subject_articles, total_articles) = _sampled_expected(
        database_url, params, subject, subject_sample, total_sample
    )
    assert (sample["articles"], sample["total_articles"]) == (subject_articles, total_articles)
    assert sample["count_margin"] == (0 if subject_sample is None else subject_sample.margin(subject_articles))
    assert sample["total_margin"] == (0 if total_sample is None else total_sample.margin(total_articles))
    _check(answer, expected, params.get("sort", "lift"), int(params.get("limit", "10")))
    assert [(r["margin"], r["total_margin"]) for r in answer["related"]] == margins
    assert answer["related"], "the case ranks something"
    return answer


@pytest.mark.parametrize("sort", ["lift", "npmi", "count"])
@pytest.mark.parametrize(
    ("subject", "filters", "subject_sampled"),
    [
        ("Donald Trump", {}, True),
        ("Islamabad", {"include_duplicates": "true"}, True),
        # Fewer subject articles: counted whole, N and |B| still sampled.
        ("Jordan", {"q": "market"}, False),
    ],
)
def test_a_sampled_answer_is_the_slices_counted_plainly_and_scaled_up(
    sampling_client: TestClient,
    larger_database_url: str,
    subject: str,
    filters: dict[str, str],
    subject_sampled: bool,
    sort: str,
) -> None:
    answer = _check_sampled(sampling_client, larger_database_url, subject, {**filters, **_EVERY_ENTITY, "sort": sort})
    assert (answer["sample"]["share"] < 1) is subject_sampled and answer["sample"]["total_share"] < 1
    floored = _check_sampled(sampling_client, larger_database_url, subject, {**filters, "sort": sort})
    assert len(floored["related"]) <= 10


def test_few_subject_articles_are_counted_whole_with_the_total_sampled(
    total_sampling_client: TestClient, larger_database_url: str
) -> None:
    for sort in ("lift", "npmi"):
        answer = _check_sampled(
            total_sampling_client,
            larger_database_url,
            "PTI",
            {**_EVERY_ENTITY, "sort": sort, "include_duplicates": "true"},
        )
        sample = answer["sample"]
        assert sample["share"] == 1.0 and sample["count_margin"] == 0 and sample["total_share"] < 1
        assert all(r["margin"] == 0 for r in answer["related"])


def test_the_same_request_reads_the_same_slices_every_time(sampling_client: TestClient) -> None:
    assert _related(sampling_client, "Donald Trump", {}) == _related(sampling_client, "Donald Trump", {})


def test_exact_counts_every_match(sampling_client: TestClient, larger_database_url: str) -> None:
    params = {**_EVERY_ENTITY, "sort": "npmi"}
    answer = _related(sampling_client, "Donald Trump", {**params, "exact": "true"})
    assert "sample" not in answer
    assert all("margin" not in r and "total_margin" not in r for r in answer["related"])
    _check(answer, _expected(larger_database_url, params, "Donald Trump"), "npmi", 100)


def test_a_search_with_few_matches_is_counted_exactly(sampling_client: TestClient, larger_database_url: str) -> None:
    # One story, one source, since a date: about 40 matches, under twice the sample size.
    params = {"story": "story-a", "source": "AP", "since": "2025-01-08", **_EVERY_ENTITY}
    answer = _related(sampling_client, "Donald Trump", params)
    assert "sample" not in answer and answer["total"] > 0
    _check(answer, _expected(larger_database_url, params, "Donald Trump"), "lift")


def test_exact_must_be_a_boolean(sampling_client: TestClient) -> None:
    response = sampling_client.get("/entities/Donald Trump/related", params={"exact": "perhaps"})
    assert response.status_code == 422
    assert "exact" in response.text
