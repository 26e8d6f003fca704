"""``GET /articles/timeline``: every bucket's count (and split) equals a plain GROUP BY, zeros between.

On the seeds and on the generated archive, duplicates folded and counted, filters alone and
combined, by hour, day and week, split by entity and by source; then the errors: 422 naming the
parameter (``interval`` when the span is too long), 404 for an unknown entity.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.store.db.queries.timeline import MAX_TIMELINE_BUCKETS
from tests.api.counts_archive import ARCHIVES, FILTER_CASES, reference_rows

_STEPS = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
# Each article's moment: its publication date (midnight UTC), else when it was ingested.
_MOMENT = "coalesce(a.published_at::timestamp, (a.ingested_at AT TIME ZONE 'UTC'))"
_BUCKETS_SQL = f"""
SELECT date_trunc('{{interval}}', {_MOMENT}), count(*), count(*) FILTER (WHERE a.published_at IS NULL)
FROM articles a WHERE {{where}} GROUP BY 1
"""
_ENTITY_SPLIT_SQL = f"""
SELECT date_trunc('{{interval}}', {_MOMENT}), coalesce(e.canonical_id, e.id), count(DISTINCT a.article_id)
FROM articles a
JOIN article_entities ae ON ae.article_id = a.article_id
JOIN entities e ON e.id = ae.entity_id
WHERE {{where}} GROUP BY 1, 2
"""
_SOURCE_SPLIT_SQL = f"""
SELECT date_trunc('{{interval}}', {_MOMENT}), lower(a.source), count(*)
FROM articles a WHERE {{where}} AND a.source IS NOT NULL GROUP BY 1, 2
"""
_SPLIT_SQL = {"entity": _ENTITY_SPLIT_SQL, "source": _SOURCE_SPLIT_SQL}


def _timeline(client: TestClient, params: dict[str, Any]) -> dict[str, Any]:
    response = client.get("/articles/timeline", params=params)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _start(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)


def _reference_buckets(database_url: str, params: dict[str, str], interval: str) -> dict[datetime, tuple[int, int]]:
    sql = _BUCKETS_SQL.replace("{interval}", interval)
    return {start: (n, undated) for start, n, undated in reference_rows(database_url, sql, params)}


def _span(expected: dict[datetime, tuple[int, int]], interval: str) -> int:
    return (max(expected) - min(expected)) // _STEPS[interval] + 1


def _check_buckets(answer: dict[str, Any], expected: dict[datetime, tuple[int, int]], interval: str) -> None:
    buckets = answer["buckets"]
    starts = [_start(bucket["start"]) for bucket in buckets]
    # Every bucket from the first counted to the last, one step apart: the zeros filled in.
    assert starts == [min(expected) + _STEPS[interval] * n for n in range(_span(expected, interval))]
    for start, bucket in zip(starts, buckets, strict=True):
        assert (bucket["count"], bucket["undated_count"]) == expected.get(start, (0, 0)), start
    assert answer["total"] == sum(n for n, _ in expected.values())


def _is_422_naming(response: Any, parameter: str) -> bool:
    return bool(response.status_code == 422 and [i["loc"][1] for i in response.json()["detail"]] == [parameter])


@pytest.mark.parametrize("interval", ["hour", "day", "week"])
@pytest.mark.parametrize("include_duplicates", ["false", "true"])
@pytest.mark.parametrize(
    ("archive", "filters"), [(archive, case) for archive, cases in FILTER_CASES.items() for case in cases]
)
def test_every_bucket_equals_a_plain_group_by(
    request: pytest.FixtureRequest, archive: str, filters: dict[str, str], include_duplicates: str, interval: str
) -> None:
    client_fixture, database_fixture = ARCHIVES[archive]
    client: TestClient = request.getfixturevalue(client_fixture)
    database_url: str = request.getfixturevalue(database_fixture)
    params = {**filters, "include_duplicates": include_duplicates}
    expected = _reference_buckets(database_url, params, interval)
    if _span(expected, interval) > MAX_TIMELINE_BUCKETS:
        response = client.get("/articles/timeline", params={**params, "interval": interval})
        assert _is_422_naming(response, "interval"), response.text
        return
    answer = _timeline(client, {**params, "interval": interval})
    assert answer["interval"] == interval and "by" not in answer and "values" not in answer
    assert all("split" not in bucket for bucket in answer["buckets"])
    _check_buckets(answer, expected, interval)


@pytest.mark.parametrize("by", ["entity", "source"])
@pytest.mark.parametrize("include_duplicates", ["false", "true"])
@pytest.mark.parametrize(
    ("archive", "filters"), [(archive, case) for archive, cases in FILTER_CASES.items() for case in cases]
)
def test_each_split_equals_a_plain_group_by(
    request: pytest.FixtureRequest, archive: str, filters: dict[str, str], include_duplicates: str, by: str
) -> None:
    client_fixture, database_fixture = ARCHIVES[archive]
    client: TestClient = request.getfixturevalue(client_fixture)
    database_url: str = request.getfixturevalue(database_fixture)
    params = {**filters, "include_duplicates": include_duplicates}
    answer = _timeline(client, {**params, "interval": "week", "by": by, "limit": 3})
    _check_buckets(answer, _reference_buckets(database_url, params, "week"), "week")
    # The values split by are the facet's top values, in its order.
    facet = client.get("/articles/facets", params={**params, "facet": by, "limit": 3}).json()["facets"][by]
    assert answer["values"] == facet
    keys = [value["id"] if by == "entity" else value["value"] for value in answer["values"]]
    sql = _SPLIT_SQL[by].replace("{interval}", "week")
    expected = {(start, key): n for start, key, n in reference_rows(database_url, sql, params)}
    for bucket in answer["buckets"]:
        start = _start(bucket["start"])
        assert list(bucket["split"]) == keys
        for key, n in bucket["split"].items():
            assert n == expected.get((start, key.lower() if by == "source" else key), 0), (start, key)


def test_a_span_of_more_buckets_than_allowed_is_422_naming_interval(
    generated_client: TestClient, generated_database_url: str
) -> None:
    # Published over ten days, the undated ingested two months later: too many hours in all, but
    # the ten days alone fit, and so does everything by the day.
    every = _reference_buckets(generated_database_url, {}, "hour")
    dated = _reference_buckets(generated_database_url, {"dated": "true"}, "hour")
    assert _span(dated, "hour") <= MAX_TIMELINE_BUCKETS < _span(every, "hour")
    response = generated_client.get("/articles/timeline", params={"interval": "hour"})
    assert _is_422_naming(response, "interval"), response.text
    assert f"more than {MAX_TIMELINE_BUCKETS} buckets" in response.json()["message"]
    assert len(_timeline(generated_client, {"interval": "hour", "dated": "true"})["buckets"]) == _span(dated, "hour")
    assert _timeline(generated_client, {"interval": "day"})["total"] == sum(n for n, _ in every.values())


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"interval": "month"}, "interval"),
        ({"by": "story"}, "by"),
        ({"by": "entity", "limit": "0"}, "limit"),
        ({"since": "2025-02-01", "until": "2025-01-01"}, "until"),
        ({"format": "pdf"}, "format"),
    ],
)
def test_bad_parameters_are_422_naming_the_parameter(
    client: TestClient, params: dict[str, str], parameter: str
) -> None:
    response = client.get("/articles/timeline", params=params)
    assert _is_422_naming(response, parameter), response.text


def test_an_unknown_entity_is_404_as_in_the_listing(client: TestClient) -> None:
    timeline = client.get("/articles/timeline", params={"entity": "Nobody Atall"})
    listing = client.get("/articles", params={"entity": "Nobody Atall"})
    assert timeline.status_code == listing.status_code == 404
    assert timeline.json() == listing.json()


def test_nothing_matching_has_no_buckets(client: TestClient) -> None:
    answer = _timeline(client, {"q": "zzzunheardofword", "by": "source"})
    assert answer == {"interval": "day", "by": "source", "total": 0, "values": [], "buckets": []}
