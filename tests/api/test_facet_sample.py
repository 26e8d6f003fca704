"""Facets over many matches, counted on a slice of the id space: the slice, the estimates, their margins.

The arithmetic is checked on its own (the slice's bounds, the share chosen from the pilot), the
estimator's 95 % margins are checked to hold about 95 % of the time on real article ids, and the
route is checked end to end on a larger generated archive with a small sample size: every count is the
plain count of the slice's matching articles scaled up, and ``exact=true`` is the plain count.
"""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.store.db.queries.facet_sample import MAX_BITS, PILOT, Sample, choose_sample
from shared.config import Settings
from shared.identity import article_id
from tests.api.counts_archive import reference_rows

_ENTITY_SQL = """
SELECT root.id, count(DISTINCT a.article_id)
FROM articles a
JOIN article_entities ae ON ae.article_id = a.article_id
JOIN entities e ON e.id = ae.entity_id
JOIN entities root ON root.id = coalesce(e.canonical_id, e.id)
WHERE {where} AND a.article_id < %(below)s
GROUP BY root.id
"""
_SOURCE_SQL = """
SELECT min(a.source COLLATE "C"), count(*) FROM articles a
WHERE {where} AND a.source IS NOT NULL AND a.article_id < %(below)s GROUP BY lower(a.source)
"""
_SLICE_SQL = "SELECT count(*) FROM articles a WHERE {where} AND a.article_id < %(below)s"


def test_a_slice_is_the_ids_below_a_power_of_two_share_of_the_id_space() -> None:
    assert Sample(1).below == "80000000"
    assert PILOT.below == "04000000" and PILOT.share == 1 / 64
    assert Sample(MAX_BITS).below == "00001000"
    # A smaller slice lies inside a larger one: a search's samples nest.
    assert Sample(5).below < Sample(4).below


def test_the_share_leaves_about_one_sample_size_of_expected_articles() -> None:
    assert choose_sample(0, 500) is None
    # 15 pilot articles stand for 960 matches: under twice 500, every match is counted.
    assert choose_sample(15, 500) is None
    for pilot in (16, 40, 100, 563, 1_000, 10_000):
        sample = choose_sample(pilot, 500)
        assert sample is not None
        expected = PILOT.estimate(pilot) * sample.share
        assert 500 / math.sqrt(2) <= expected <= 500 * math.sqrt(2), (pilot, sample)
    assert choose_sample(10**9, 1) == Sample(MAX_BITS)


def test_the_margins_hold_about_95_percent_of_the_time_on_article_ids() -> None:
    """Real ids (uuid5 of file names and digests), sets of every size: the truth is inside the margin."""
    rng = random.Random(7)
    ids = [article_id(f"inbox/{n:06d}.txt", f"{rng.getrandbits(256):064x}") for n in range(40_000)]
    inside = trials = 0
    for share_of_archive in (0.02, 0.1, 0.3, 0.7):
        for bits in (2, 3, 4, 5):
            for _ in range(12):
                matching = [i for i in ids if rng.random() < share_of_archive]
                sample = Sample(bits)
                sampled = sum(1 for i in matching if i < sample.below)
                trials += 1
                inside += abs(sample.estimate(sampled) - len(matching)) <= sample.margin(sampled)
    assert trials == 192
    # 95 % expected; 0.90 leaves room for 192 trials' own spread (its sd is about 1.6 points).
    assert inside / trials >= 0.90, inside / trials


def _facets(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/articles/facets", params={"facet": ["entity", "source"], "limit": 100, **params})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.mark.parametrize("include_duplicates", ["false", "true"])
def test_a_sampled_answer_is_the_slice_counted_plainly_and_scaled_up(
    sampling_client: TestClient, larger_database_url: str, include_duplicates: str
) -> None:
    params = {"include_duplicates": include_duplicates}
    answer = _facets(sampling_client, **params)
    sample = answer["sample"]
    bits = round(-math.log2(sample["share"]))
    assert sample["share"] == 2.0**-bits
    slice_ = Sample(bits)
    below = {**params, "below": slice_.below}
    ((sampled,),) = reference_rows(larger_database_url, _SLICE_SQL, below)
    assert sample["articles"] == sampled > 0
    assert answer["total"] == slice_.estimate(sampled)
    assert sample["total_margin"] == slice_.margin(sampled)
    entities = {root: n for root, n in reference_rows(larger_database_url, _ENTITY_SQL, below)}
    shown = {e["id"]: (e["count"], e["margin"]) for e in answer["facets"]["entity"]}
    assert shown == {root: (slice_.estimate(n), slice_.margin(n)) for root, n in entities.items()}
    sources = {value: n for value, n in reference_rows(larger_database_url, _SOURCE_SQL, below)}
    shown_sources = {v["value"]: (v["count"], v["margin"]) for v in answer["facets"]["source"]}
    assert shown_sources == {value: (slice_.estimate(n), slice_.margin(n)) for value, n in sources.items()}


def test_a_sample_finer_than_the_pilot_is_counted_in_the_pilots_pass(larger_database_url: str) -> None:
    """Three articles a sample: a slice inside the pilot's, whose count the pilot statement gave."""
    settings = Settings(database_url=larger_database_url, facet_sample_articles=3)
    with TestClient(create_app(settings)) as fine_client:
        answer = _facets(fine_client)
    bits = round(-math.log2(answer["sample"]["share"]))
    assert bits > PILOT.bits
    slice_ = Sample(bits)
    ((sampled,),) = reference_rows(larger_database_url, _SLICE_SQL, {"below": slice_.below})
    assert answer["sample"]["articles"] == sampled
    assert answer["total"] == slice_.estimate(sampled)
    entities = {root: n for root, n in reference_rows(larger_database_url, _ENTITY_SQL, {"below": slice_.below})}
    assert {e["id"]: e["count"] for e in answer["facets"]["entity"]} == {
        root: slice_.estimate(n) for root, n in entities.items()
    }


def test_the_same_search_reads_the_same_sample_every_time(sampling_client: TestClient) -> None:
    assert _facets(sampling_client) == _facets(sampling_client)


def test_exact_counts_every_match(sampling_client: TestClient, larger_database_url: str) -> None:
    answer = _facets(sampling_client, exact="true")
    assert "sample" not in answer
    assert answer["total"] == len(reference_rows(larger_database_url, "SELECT 1 FROM articles a WHERE {where}", {}))
    assert all("margin" not in e for e in answer["facets"]["entity"])


def test_a_search_with_few_matches_is_counted_exactly(sampling_client: TestClient) -> None:
    # One story, one source, since a date: about 40 matches, under twice the sample size.
    answer = _facets(sampling_client, story="story-a", source="AP", since="2025-01-08")
    assert "sample" not in answer and answer["total"] > 0


def test_exact_must_be_a_boolean(sampling_client: TestClient) -> None:
    response = sampling_client.get("/articles/facets", params={"facet": "day", "exact": "perhaps"})
    assert response.status_code == 422
    assert "exact" in response.text


_SPLIT_SQL = """
SELECT to_char(date_trunc('week', coalesce(a.published_at::timestamp, a.ingested_at AT TIME ZONE 'UTC')),
               'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       root.id, count(DISTINCT a.article_id)
FROM articles a
JOIN article_entities ae ON ae.article_id = a.article_id
JOIN entities e ON e.id = ae.entity_id
JOIN entities root ON root.id = coalesce(e.canonical_id, e.id)
WHERE {where}
GROUP BY 1, 2
"""


def test_a_timeline_split_by_entity_over_many_matches_counts_the_sampled_top_exactly(
    sampling_client: TestClient, larger_database_url: str
) -> None:
    """The entities split by are the sampled facet's top; their counts, per bucket and in all, are exact."""
    response = sampling_client.get("/articles/timeline", params={"interval": "week", "by": "entity", "limit": 3})
    assert response.status_code == 200, response.text
    answer = response.json()
    facet = _facets(sampling_client, limit=3)
    assert "sample" in facet, "the facet choosing the entities was estimated"
    assert {v["id"] for v in answer["values"]} == {e["id"] for e in facet["facets"]["entity"]}
    reference = {(start, root): n for start, root, n in reference_rows(larger_database_url, _SPLIT_SQL, {})}
    for bucket in answer["buckets"]:
        start = bucket["start"].replace("+00:00", "Z")
        assert bucket["split"] == {key: reference.get((start, key), 0) for key in bucket["split"]}, start
    exact = {v["id"]: sum(n for (_, root), n in reference.items() if root == v["id"]) for v in answer["values"]}
    assert min(exact.values()) > 0
    assert [v["count"] for v in answer["values"]] == sorted(exact.values(), reverse=True)
    assert {v["id"]: v["count"] for v in answer["values"]} == exact
