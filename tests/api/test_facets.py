"""``GET /articles/facets``: every count equals a plain GROUP BY over the articles the filters match.

On the seeds and on the generated archive (reprints, undated articles, a source in two spellings,
folded entities), with duplicates folded and counted, each filter alone and combined; then the
errors: 422 naming the parameter, 404 for an unknown entity.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.counts_archive import ARCHIVES, FILTER_CASES, reference_rows

_ALL_FACETS = ["entity", "type", "source", "story", "day", "hour"]
# Large enough for every value of either archive: the whole facet is compared, not its head.
_EVERY_VALUE = 100

_ENTITY_SQL = """
SELECT root.id, root.name, root.type, count(DISTINCT a.article_id)
FROM articles a
JOIN article_entities ae ON ae.article_id = a.article_id
JOIN entities e ON e.id = ae.entity_id
JOIN entities root ON root.id = coalesce(e.canonical_id, e.id)
WHERE {where}
GROUP BY root.id, root.name, root.type
"""
_TYPE_SQL = """
SELECT ae.entity_type, count(DISTINCT a.article_id)
FROM articles a JOIN article_entities ae ON ae.article_id = a.article_id
WHERE {where} GROUP BY ae.entity_type
"""
# A source in any case, shown in its first spelling in code point order.
_SOURCE_SQL = """
SELECT min(a.source COLLATE "C"), count(*) FROM articles a
WHERE {where} AND a.source IS NOT NULL GROUP BY lower(a.source)
"""
_STORY_SQL = "SELECT a.story_id, count(*) FROM articles a WHERE {where} AND a.story_id IS NOT NULL GROUP BY 1"
# Dated articles by publication date, undated ones by the UTC day and hour they were ingested.
_TIME_SQL = """
SELECT coalesce(to_char(a.published_at, 'YYYY-MM-DD'), to_char(a.ingested_at, 'YYYY-MM-DD')) AS day,
       coalesce(to_char(a.published_at, 'YYYY-MM-DD"T00:00:00Z"'),
                to_char(a.ingested_at, 'YYYY-MM-DD"T"HH24":00:00Z"')) AS hour,
       a.published_at IS NULL AS undated
FROM articles a WHERE {where}
"""


def _facets(client: TestClient, params: dict[str, Any], **more: Any) -> dict[str, Any]:
    response = client.get("/articles/facets", params={**params, **more})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _ranked(counts: dict[Any, int]) -> list[tuple[Any, int]]:
    """Most first, then by value: the order every value facet promises."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _time_reference(database_url: str, params: dict[str, str], key: int) -> list[tuple[str, int, int]]:
    rows = reference_rows(database_url, _TIME_SQL, params)
    counts = Counter(row[key] for row in rows)
    undated = Counter(row[key] for row in rows if row[2])
    return [(bucket, counts[bucket], undated[bucket]) for bucket in sorted(counts)]


def _check_facets(answer: dict[str, Any], database_url: str, params: dict[str, str]) -> None:
    facets = answer["facets"]
    entities = {(r[0], r[1], r[2]): r[3] for r in reference_rows(database_url, _ENTITY_SQL, params)}
    assert [((e["id"], e["name"], e["type"]), e["count"]) for e in facets["entity"]] == sorted(
        entities.items(), key=lambda item: (-item[1], item[0][1], item[0][0])
    )
    for facet, sql in (("type", _TYPE_SQL), ("source", _SOURCE_SQL), ("story", _STORY_SQL)):
        expected = _ranked({value: n for value, n in reference_rows(database_url, sql, params)})
        assert [(v["value"], v["count"]) for v in facets[facet]] == expected, facet
    for facet, key in (("day", 0), ("hour", 1)):
        shown = [(v["value"], v["count"], v["undated_count"]) for v in facets[facet]]
        assert shown == _time_reference(database_url, params, key), facet


@pytest.mark.parametrize("include_duplicates", ["false", "true"])
@pytest.mark.parametrize(
    ("archive", "filters"), [(archive, case) for archive, cases in FILTER_CASES.items() for case in cases]
)
def test_every_facet_count_equals_a_plain_group_by(
    request: pytest.FixtureRequest, archive: str, filters: dict[str, str], include_duplicates: str
) -> None:
    client_fixture, database_fixture = ARCHIVES[archive]
    client: TestClient = request.getfixturevalue(client_fixture)
    database_url: str = request.getfixturevalue(database_fixture)
    params = {**filters, "include_duplicates": include_duplicates}
    answer = _facets(client, params, facet=_ALL_FACETS, limit=_EVERY_VALUE)
    assert answer["total"] == len(reference_rows(database_url, _TIME_SQL, params))
    assert answer["total"] > 0, "each case matches something"
    assert set(answer["facets"]) == set(_ALL_FACETS)
    _check_facets(answer, database_url, params)


def test_the_generated_archive_has_what_the_facets_must_handle(generated_database_url: str) -> None:
    every = {"include_duplicates": "true"}
    rows = reference_rows(generated_database_url, _TIME_SQL, every)
    assert any(undated for _, _, undated in rows) and not all(undated for _, _, undated in rows)
    originals = reference_rows(generated_database_url, _TIME_SQL, {})
    assert len(originals) < len(rows), "it has reprints"
    spellings = reference_rows(generated_database_url, "SELECT DISTINCT a.source FROM articles a WHERE {where}", every)
    assert {"Reuters", "REUTERS"} <= {source for (source,) in spellings}


def test_limit_keeps_the_most_common_values_and_the_latest_buckets(
    generated_client: TestClient, generated_database_url: str
) -> None:
    whole = _facets(generated_client, {}, facet=_ALL_FACETS, limit=_EVERY_VALUE)["facets"]
    top = _facets(generated_client, {}, facet=_ALL_FACETS, limit=2)["facets"]
    for facet in ("entity", "type", "source", "story"):
        assert top[facet] == whole[facet][:2], facet
    for facet in ("day", "hour"):
        assert top[facet] == whole[facet][-2:], facet


def test_only_the_facets_asked_are_answered_each_once(client: TestClient) -> None:
    answer = _facets(client, {}, facet=["source", "day", "source"])
    assert list(answer["facets"]) == ["source", "day"]


def test_nothing_matching_counts_nothing(client: TestClient) -> None:
    answer = _facets(client, {"q": "zzzunheardofword"}, facet=_ALL_FACETS)
    assert answer == {"total": 0, "facets": {facet: [] for facet in _ALL_FACETS}}


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({}, "facet"),
        ({"facet": "color"}, "facet"),
        ({"facet": "day", "limit": "0"}, "limit"),
        ({"facet": "day", "limit": "101"}, "limit"),
        ({"facet": "day", "since": "2025-02-01", "until": "2025-01-01"}, "until"),
        ({"facet": "day", "dated": "false", "since": "2025-01-01"}, "dated"),
        ({"facet": "day", "type": "COLOR"}, "type"),
    ],
)
def test_bad_parameters_are_422_naming_the_parameter(
    client: TestClient, params: dict[str, str], parameter: str
) -> None:
    response = client.get("/articles/facets", params=params)
    assert response.status_code == 422, response.text
    assert [item["loc"][1] for item in response.json()["detail"]] == [parameter]


def test_an_unknown_entity_is_404_as_in_the_listing(client: TestClient) -> None:
    facets = client.get("/articles/facets", params={"entity": "Nobody Atall", "facet": "day"})
    listing = client.get("/articles", params={"entity": "Nobody Atall"})
    assert facets.status_code == listing.status_code == 404
    assert facets.json() == listing.json()
