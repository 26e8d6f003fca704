"""``GET /entities/{key}/related``: every co-occurrence count and score equals a plain-SQL reference.

The reference reads each matching article's entities (folded into their roots) with one plain
join over the archive (``counts_archive.reference_where`` for the filters) and counts in Python:
N, |A|, and per other entity |A and B| and |B|, from which lift and npmi follow. On the seeds and
on the generated archive (reprints, undated articles, folded names), with duplicates folded and
counted, each filter alone and combined, for every order; then the floor, the limit, the
subject's aliases, and the errors: 422 naming the parameter, 404 for an unknown key or filter.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.counts_archive import ARCHIVES, FILTER_CASES, reference_rows

# Every matching article, with each root entity it names (a row of NULLs when it names none).
_ROOTS_SQL = """
SELECT a.article_id, root.id, root.name, root.type
FROM articles a
LEFT JOIN article_entities ae ON ae.article_id = a.article_id
LEFT JOIN entities e ON e.id = ae.entity_id
LEFT JOIN entities root ON root.id = coalesce(e.canonical_id, e.id)
WHERE {where}
"""
# The root of the entity a test names (the names the archives hold are each one root).
_ROOT_OF_NAME_SQL = "SELECT DISTINCT coalesce(canonical_id, id) FROM entities WHERE lower(name) = lower(%(name)s)"
# The subjects asked about in each archive: common names and rarer ones, and one the store folded
# other rows into (Donald Trump, with "Trump"; Jordan, a person and a place).
_SUBJECTS = {"seeds": ["Imran Khan", "Donald Trump"], "generated": ["Donald Trump", "Jordan", "Islamabad"]}
_SORTS = ["lift", "npmi", "count"]
_EVERY_ENTITY = {"min_count": "1", "limit": "100"}


@dataclass(frozen=True)
class Expected:
    total: int
    count: int
    # (id, name, type, count, total, lift, npmi), in no particular order.
    related: list[tuple[str, str, str, int, int, float, float]]


def _subject_root(database_url: str, name: str) -> str:
    # No {where} in the statement: the archive's entities, whatever the filters.
    (root,) = reference_rows(database_url, _ROOT_OF_NAME_SQL, {"name": name})
    return str(root[0])


def _expected(database_url: str, params: dict[str, str], subject: str) -> Expected:
    """N, |A| and every other root's |A and B|, |B|, lift and npmi, counted plainly in Python."""
    root = _subject_root(database_url, subject)
    named: dict[str, set[str]] = defaultdict(set)
    entity: dict[str, tuple[str, str]] = {}
    for article_id, entity_id, name, entity_type in reference_rows(database_url, _ROOTS_SQL, params):
        roots = named[article_id]  # every matching article is counted, naming an entity or not
        if entity_id is not None:
            roots.add(entity_id)
            entity[entity_id] = (name, entity_type)
    total = len(named)
    subject_articles = [roots for roots in named.values() if root in roots]
    together: dict[str, int] = defaultdict(int)
    for roots in subject_articles:
        for other in roots - {root}:
            together[other] += 1
    alone = {other: sum(other in roots for roots in named.values()) for other in together}
    related = []
    for other, count in together.items():
        lift = Decimal(count * total) / Decimal(len(subject_articles) * alone[other])
        always_together = count == len(subject_articles) == alone[other]
        npmi = Decimal(1) if always_together else lift.ln() / -(Decimal(count) / Decimal(total)).ln()
        related.append((other, *entity[other], count, alone[other], _shown(lift), _shown(npmi)))
    return Expected(total=total, count=len(subject_articles), related=related)


def _shown(score: Decimal) -> float:
    """A score as the route gives it: to six decimals, halves away from zero (Postgres' round)."""
    return float(score.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP))


def _ordered(related: list[tuple[Any, ...]], sort: str) -> list[tuple[Any, ...]]:
    """The order the route promises: the score as shown, then count, then name, then id."""
    key = {"lift": lambda r: r[5], "npmi": lambda r: r[6], "count": lambda r: r[3]}[sort]
    return sorted(related, key=lambda r: (-key(r), -r[3], r[1], r[0]))


def _related(client: TestClient, subject: str, params: dict[str, str]) -> dict[str, Any]:
    response = client.get(f"/entities/{subject}/related", params=params)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _rows(answer: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(r["id"], r["name"], r["type"], r["count"], r["total"], r["lift"], r["npmi"]) for r in answer["related"]]


def _check(answer: dict[str, Any], expected: Expected, sort: str, limit: int | None = None) -> None:
    assert (answer["total"], answer["count"]) == (expected.total, expected.count)
    want = _ordered(expected.related, sort)[:limit]
    got = _rows(answer)
    # Ids, names, types, counts and scores exactly, in order.
    assert got == want


_CASES = [
    (archive, filters, subject)
    for archive, cases in FILTER_CASES.items()
    for filters in cases
    for subject in _SUBJECTS[archive]
]


@pytest.mark.parametrize("include_duplicates", ["false", "true"])
@pytest.mark.parametrize(("archive", "filters", "subject"), _CASES)
def test_every_co_occurrence_count_equals_a_plain_reference(
    request: pytest.FixtureRequest, archive: str, filters: dict[str, str], subject: str, include_duplicates: str
) -> None:
    client_fixture, database_fixture = ARCHIVES[archive]
    client: TestClient = request.getfixturevalue(client_fixture)
    database_url: str = request.getfixturevalue(database_fixture)
    params = {**filters, "include_duplicates": include_duplicates}
    expected = _expected(database_url, params, subject)
    assert expected.total > 0, "each case matches something"
    assert len(expected.related) < int(_EVERY_ENTITY["limit"]), "the whole list is compared, not its head"
    for sort in _SORTS:
        answer = _related(client, subject, {**params, **_EVERY_ENTITY, "sort": sort})
        assert answer["entity"]["id"] == _subject_root(database_url, subject)
        _check(answer, expected, sort)


def test_the_cases_exercise_duplicates_undated_articles_and_scores(generated_database_url: str) -> None:
    """The generated archive's co-occurrences change with duplicates and hold undated articles."""
    originals = _expected(generated_database_url, {}, "Donald Trump")
    everything = _expected(generated_database_url, {"include_duplicates": "true"}, "Donald Trump")
    assert originals.count < everything.count, "reprints add to the subject's articles"
    assert {r[0]: r[3] for r in originals.related} != {r[0]: r[3] for r in everything.related}
    undated = _expected(generated_database_url, {"dated": "false"}, "Jordan")
    assert undated.count > 0 and undated.related, "undated articles have co-occurrences of their own"
    lifts = [r[5] for r in originals.related]
    assert min(lifts) < 1 < max(lifts), "some names are over-represented with the subject, some under"


@pytest.mark.parametrize("sort", _SORTS)
def test_defaults_rank_only_repeated_co_occurrences_ten_at_most(
    client: TestClient, seeded_database_url: str, sort: str
) -> None:
    expected = _expected(seeded_database_url, {}, "Imran Khan")
    floored = [r for r in expected.related if r[3] >= 2]
    assert 0 < len(floored) < len(expected.related), "the floor leaves out single co-occurrences"
    answer = _related(client, "Imran Khan", {"sort": sort})
    _check(answer, Expected(expected.total, expected.count, floored), sort, limit=10)
    for min_count in (1, 3):
        floor = {"sort": sort, "min_count": str(min_count), "limit": "100"}
        at_least = [r for r in expected.related if r[3] >= min_count]
        _check(_related(client, "Imran Khan", floor), Expected(expected.total, expected.count, at_least), sort)
    top = _related(client, "Imran Khan", {"sort": sort, "limit": "2"})
    assert top["related"] == answer["related"][:2]


def test_lift_ranks_a_telling_name_above_a_common_one(generated_client: TestClient) -> None:
    by_count = _related(generated_client, "Donald Trump", {"sort": "count", **_EVERY_ENTITY})["related"]
    by_lift = _related(generated_client, "Donald Trump", {"sort": "lift", **_EVERY_ENTITY})["related"]
    assert [r["count"] for r in by_count] == sorted((r["count"] for r in by_count), reverse=True)
    assert [r["lift"] for r in by_lift] == sorted((r["lift"] for r in by_lift), reverse=True)
    assert sorted(r["id"] for r in by_count) == sorted(r["id"] for r in by_lift)


def test_a_folded_name_or_any_case_asks_about_its_root(generated_client: TestClient) -> None:
    root = _related(generated_client, "Donald Trump", _EVERY_ENTITY)
    assert root["entity"]["name"] == "Donald Trump"
    for key in ("Trump", "donald trump", root["entity"]["id"]):
        assert _related(generated_client, key, _EVERY_ENTITY) == root, key


def test_a_subject_no_matching_article_names_has_nothing_related(client: TestClient) -> None:
    answer = _related(client, "Imran Khan", {"q": "zzzunheardofword"})
    assert answer["total"] == answer["count"] == 0 and answer["related"] == []
    assert answer["entity"]["name"] == "Imran Khan"


def test_the_subject_is_never_related_to_itself(client: TestClient) -> None:
    answer = _related(client, "Imran Khan", {"entity": "Imran Khan", **_EVERY_ENTITY})
    assert answer["count"] == answer["total"] > 0
    assert answer["entity"]["id"] not in {r["id"] for r in answer["related"]}
    assert answer["related"], "the subject's articles name others"


@pytest.mark.parametrize(
    ("params", "parameter", "allowed"),
    [
        ({"sort": "score"}, "sort", "lift, npmi, count"),
        ({"min_count": "0"}, "min_count", "1 to 1000000"),
        ({"limit": "0"}, "limit", "1 to 100"),
        ({"limit": "101"}, "limit", "1 to 100"),
        ({"since": "2025-02-01", "until": "2025-01-01"}, "until", "YYYY-MM-DD"),
        ({"dated": "false", "since": "2025-01-01"}, "dated", None),
        ({"type": "COLOR"}, "type", "PERSON"),
        ({"include_duplicates": "maybe"}, "include_duplicates", "true or false"),
    ],
)
def test_bad_parameters_are_422_naming_the_parameter(
    client: TestClient, params: dict[str, str], parameter: str, allowed: str | None
) -> None:
    response = client.get("/entities/Imran Khan/related", params=params)
    assert response.status_code == 422, response.text
    body = response.json()
    assert [item["loc"][1] for item in body["detail"]] == [parameter]
    if allowed is not None:
        assert allowed in body["message"]


def test_an_unknown_key_is_404_as_for_the_profile(client: TestClient) -> None:
    related = client.get("/entities/Nobody Atall/related")
    profile = client.get("/entities/Nobody Atall")
    assert related.status_code == profile.status_code == 404
    assert related.json() == profile.json()


def test_an_unknown_entity_filter_is_404_as_in_the_listing(client: TestClient) -> None:
    related = client.get("/entities/Imran Khan/related", params={"entity": "Nobody Atall"})
    listing = client.get("/articles", params={"entity": "Nobody Atall"})
    assert related.status_code == listing.status_code == 404
    assert related.json() == listing.json()


def test_the_route_is_documented(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/entities/{entity_key}/related"]["get"]
    parameters = {p["name"] for p in operation["parameters"]}
    assert {"entity_key", "sort", "min_count", "limit", "q", "entity", "since", "include_duplicates"} <= parameters
    assert "lift" in operation["description"] and "npmi" in operation["description"]
    assert set(operation["responses"]) >= {"200", "404", "422"}
