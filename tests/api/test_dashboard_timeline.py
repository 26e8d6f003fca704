"""The dashboard's search timeline panel (issue 27) in a real browser, against a running API.

The API serves the generated archive (``counts_archive``: undated articles, sources in two
spellings, folded entities) with an API key set, so the panel's requests must pass as the page's
own do (the cookie left by opening ``/dashboard?api_key=...``). A search is typed into the form;
the chart's data and the panel's table must hold the buckets ``GET /articles/timeline`` answers
for the same search (the route's counts are checked against plain SQL in ``test_timeline.py``),
the page's hash must keep the search so a link reopens it, and the API's error message must show
in the panel. No console error, no request off 127.0.0.1.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from services.api.app import create_app
from services.embedded import free_port, wait_for_port
from shared.config import Settings
from tests.browser import ARTIFACTS, WatchedPage

pytestmark = pytest.mark.slow

API_KEY = "panel-test-key"
ANSWER_WITHIN_MS = 30_000
# The chart's data as the page holds it: labels, and each dataset's label, type and values.
_CHART = """() => {
    const chart = Chart.getChart('chart-timeline');
    return { labels: chart.data.labels,
             datasets: chart.data.datasets.map((ds) => ({ label: ds.label, type: ds.type || 'bar', data: ds.data })) };
}"""
_TABLE = """() => [...document.querySelectorAll('#timeline-table tbody tr')]
    .map((row) => [...row.cells].map((cell) => cell.textContent))"""


@pytest.fixture(scope="module")
def api(generated_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The read API over the generated archive, served by uvicorn on a free port in this process."""
    settings = Settings(
        database_url=generated_database_url, api_keys=[API_KEY], data_dir=tmp_path_factory.mktemp("panel-api")
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert wait_for_port("127.0.0.1", port, 30), "the API did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _expected(api: str, **params: str) -> dict[str, Any]:
    response = httpx.get(f"{api}/articles/timeline", params=params, headers={"X-API-Key": API_KEY})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _open(watched: WatchedPage, url: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    response = watched.page.goto(url)
    assert response is not None and response.status == 200


def _search(page: Any, **fields: str) -> None:
    """Type a search into the panel's form, press Enter, and wait for the panel's answer to it."""
    answers = int(page.evaluate("() => Number(document.getElementById('timeline').dataset.answers || 0)"))
    form = page.locator("#timeline-form")
    for name, value in fields.items():
        field = form.locator(f"[name={name}]")
        if field.evaluate("(el) => el.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    form.locator("[name=q]").press("Enter")
    page.wait_for_function(
        "([n]) => Number(document.getElementById('timeline').dataset.answers || 0) > n",
        arg=[answers],
        timeout=ANSWER_WITHIN_MS,
    )


def _assert_drew(page: Any, expected: dict[str, Any]) -> dict[str, Any]:
    """The panel's chart has a bar per bucket of ``expected``, its table and summary the same counts."""
    buckets = expected["buckets"]
    chart: dict[str, Any] = page.evaluate(_CHART)
    assert chart["labels"] == [_label(bucket["start"], expected["interval"]) for bucket in buckets]
    table = page.evaluate(_TABLE)
    assert [row[:3] for row in table] == [
        [_label(b["start"], expected["interval"]), str(b["count"]), str(b["undated_count"])] for b in buckets
    ]
    assert f"{expected['total']} articles" in page.locator("#timeline-summary").inner_text()
    assert page.locator("#timeline-error").is_hidden()
    return chart


def _label(start: str, interval: str) -> str:
    day, time = start[:10], start[11:16]
    return {"hour": f"{day} {time}", "day": day, "week": f"week of {day}"}[interval]


def _bars(chart: dict[str, Any], label: str) -> list[int]:
    (values,) = [ds["data"] for ds in chart["datasets"] if ds["label"] == label]
    return list(values)


def test_a_typed_search_draws_its_timeline_and_a_link_reopens_it(api: str, watched: WatchedPage) -> None:
    page = watched.page
    _open(watched, f"{api}/dashboard?api_key={API_KEY}")
    _search(page, q="summit")
    expected = _expected(api, q="summit", interval="day")
    buckets = expected["buckets"]
    # The archive's search spans days with and without articles, some undated: what the panel must show.
    assert len(buckets) > 5 and any(b["count"] == 0 for b in buckets)
    undated = sum(b["undated_count"] for b in buckets)
    assert undated > 0

    chart = _assert_drew(page, expected)
    # Dated and undated articles stacked in each bucket, the undated ones a series of their own.
    assert _bars(chart, "dated (by publication date)") == [b["count"] - b["undated_count"] for b in buckets]
    assert _bars(chart, "undated (by ingest time)") == [b["undated_count"] for b in buckets]
    assert f"{undated} without a publication date" in page.locator("#timeline-summary").inner_text()
    page.locator("#timeline").screenshot(path=str(ARTIFACTS / "dashboard-timeline.png"))

    # The search is in the page's address: opening it again draws it again, the form filled in.
    link = page.url
    assert "#" in link and "q=summit" in link.split("#", 1)[1]
    page.goto("about:blank")
    _open(watched, link)
    page.wait_for_function(
        "() => Number(document.getElementById('timeline').dataset.answers || 0) > 0", timeout=ANSWER_WITHIN_MS
    )
    assert page.locator("#timeline-form [name=q]").input_value() == "summit"
    assert page.locator("#timeline-form [name=interval]").input_value() == "day"
    _assert_drew(page, expected)
    assert not watched.problems, watched.problems
    assert not watched.outside, watched.outside


def test_a_split_by_source_stacks_each_sources_articles(api: str, watched: WatchedPage) -> None:
    page = watched.page
    _open(watched, f"{api}/dashboard?api_key={API_KEY}")
    _search(page, interval="week", by="source")
    expected = _expected(api, interval="week", by="source")
    buckets = expected["buckets"]
    chart = _assert_drew(page, expected)
    for value in expected["values"]:
        assert _bars(chart, value["value"]) == [b["split"][value["value"]] for b in buckets], value
    # One source per article: the sources and the rest (other or no source) stack up to each bucket's count.
    stacked = [sum(ds["data"][i] for ds in chart["datasets"]) for i in range(len(buckets))]
    assert stacked == [b["count"] for b in buckets]
    assert any(ds["label"] == "other or no source" for ds in chart["datasets"]), "the archive has unsourced articles"
    page.locator("#timeline").screenshot(path=str(ARTIFACTS / "dashboard-timeline-by-source.png"))
    assert not watched.problems, watched.problems
    assert not watched.outside, watched.outside


def test_a_split_by_entity_draws_a_line_per_entity_over_the_counts(api: str, watched: WatchedPage) -> None:
    page = watched.page
    _open(watched, f"{api}/dashboard?api_key={API_KEY}")
    _search(page, q="election", by="entity")
    expected = _expected(api, q="election", interval="day", by="entity")
    buckets = expected["buckets"]
    chart = _assert_drew(page, expected)
    lines = {ds["label"]: ds["data"] for ds in chart["datasets"] if ds["type"] == "line"}
    # An article names several entities: lines, not stacked bars, which would count it several times.
    assert lines == {f"{v['name']} ({v['type']})": [b["split"][v["id"]] for b in buckets] for v in expected["values"]}
    assert len(lines) > 1
    page.locator("#timeline").screenshot(path=str(ARTIFACTS / "dashboard-timeline-by-entity.png"))
    assert _bars(chart, "dated (by publication date)") == [b["count"] - b["undated_count"] for b in buckets]
    assert not watched.problems, watched.problems
    assert not watched.outside, watched.outside


def test_the_apis_error_shows_in_the_panel(api: str, watched: WatchedPage) -> None:
    page = watched.page
    _open(watched, f"{api}/dashboard?api_key={API_KEY}")
    error = page.locator("#timeline-error")
    # The whole archive by the hour is more buckets than one answer holds: a 422 naming `interval`.
    _search(page, interval="hour")
    refused = httpx.get(f"{api}/articles/timeline", params={"interval": "hour"}, headers={"X-API-Key": API_KEY})
    assert refused.status_code == 422
    assert error.is_visible() and error.inner_text() == refused.json()["message"]
    assert "Invalid interval" in error.inner_text() and "buckets" in error.inner_text()
    assert page.evaluate(_CHART) == {"labels": [], "datasets": []}, "no chart of an earlier search stays drawn"
    page.locator("#timeline").screenshot(path=str(ARTIFACTS / "dashboard-timeline-error.png"))
    # Words past the 500 characters allowed.
    _search(page, q="x" * 501, interval="day")
    assert error.is_visible() and error.inner_text().startswith("Invalid q")
    # A search that works takes the message away.
    _search(page, q="flood")
    _assert_drew(page, _expected(api, q="flood", interval="day"))
    # The browser logs a refused request as a console error of its own: exactly the two refusals, no other.
    refusals = [p for p in watched.problems if "status of 422" in p]
    assert len(refusals) == 2 and len(watched.problems) == 2, watched.problems
    assert not watched.outside, watched.outside
