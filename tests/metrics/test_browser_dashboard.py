"""``/dashboard``, ``/docs`` and ``/redoc`` in a real browser (``tests/browser.py``: Debian's chromium, headless).

Against a running stack. The dashboard must draw its charts from the store's own sampling (no
Prometheus involved), show the archive's count, list the latest articles, and log no console
error. Every page must work offline: a request to any host but 127.0.0.1 is refused and fails the
test. Full-page screenshots are kept in ``test-artifacts/`` for people to look at.
"""

from __future__ import annotations

import re

import httpx
import pytest

from tests.browser import ARTIFACTS, WatchedPage
from tests.metrics.conftest import SeededStack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# Two polls of the page (every 5 s) and a margin for a loaded 2-core machine.
CHARTS_DRAWN_WITHIN_MS = 30_000


def test_dashboard_draws_the_pipeline(seeded_stack: SeededStack, watched: WatchedPage) -> None:
    page = watched.page
    api = seeded_stack.pipeline.api
    response = page.goto(f"{api}/dashboard")
    assert response is not None and response.status == 200
    stored = httpx.get(f"{api}/stats").json()["articles"]
    assert stored >= seeded_stack.seeds
    # Drawn twice: the second poll has at least two samples, so the rate charts have points.
    page.wait_for_function(
        "([n]) => Number(document.body.dataset.drawn || 0) >= 2"
        " && document.getElementById('kpi-articles').textContent === String(n)",
        arg=[stored],
        timeout=CHARTS_DRAWN_WITHIN_MS,
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    assert page.locator("#kpi-articles").inner_text() == str(stored)
    # Every pipeline chart drew its points (lines) or bars (the search panel's waits for a search).
    drawn = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('.charts canvas')].map((canvas) => {
              const chart = Chart.getChart(canvas);
              const points = chart.data.datasets.flatMap((ds) => ds.data)
                  .filter((p) => p !== null && (typeof p !== 'object' || p.y !== null)).length;
              return [canvas.id, points];
           }))"""
    )
    # The seeds are all valid files: the rejects chart is the one that must say there is nothing to show.
    assert drawn.pop("chart-rejects") == 0
    assert all(count > 0 for count in drawn.values()), drawn
    # The store committed the seeds within the sampled history: the throughput chart shows it.
    assert page.evaluate("() => Chart.getChart('chart-throughput').data.datasets[2].data.some((p) => p.y > 0)"), (
        "the store's throughput never rose above 0"
    )
    # Every axis says its unit, every time is 24-hour ISO, and the footer says what happens on a restart.
    units = page.evaluate(
        """() => [...document.querySelectorAll('.charts canvas')].flatMap((canvas) => {
              const chart = Chart.getChart(canvas);
              const axis = chart.config.type === 'bar' ? chart.options.scales.x : chart.options.scales.y;
              return [[canvas.id, axis.title.display ? axis.title.text : '']];
           })"""
    )
    assert all(text for _, text in units), units
    arrived = page.locator("#latest-articles tbody tr td.when").all_inner_texts()[1::2]
    assert arrived and all(_ISO_TIME.fullmatch(text) for text in arrived), arrived
    assert _CLOCK.search(page.locator("#updated").inner_text()), page.locator("#updated").inner_text()
    assert "kept across restarts" in page.locator("footer").inner_text()
    # No grid leaves an empty cell: each row of tiles, charts and tables is full.
    for grid in (".kpis", ".charts", ".tables"):
        assert page.evaluate(_FULL_ROWS, grid), grid
    pills = page.locator("#services .pill").all_inner_texts()
    assert sorted(pills) == ["api up", "enrich up", "ingest up", "store up"], pills
    rows = page.locator("#latest-articles tbody tr")
    assert rows.count() == min(stored, 10)
    assert "Imran Khan" in page.locator("#top-entities").inner_text()
    assert page.locator("#banner").is_hidden() and page.locator("#attention").is_hidden()
    assert not watched.problems, watched.problems
    assert not watched.outside, watched.outside


def test_swagger_ui_renders_every_operation_offline(seeded_stack: SeededStack, watched: WatchedPage) -> None:
    api = seeded_stack.pipeline.api
    paths = httpx.get(f"{api}/openapi.json").json()["paths"]
    operations = sum(1 for item in paths.values() for method in item if method in ("get", "post", "put", "delete"))
    page = watched.page
    response = page.goto(f"{api}/docs")
    assert response is not None and response.status == 200
    page.wait_for_function(
        "([n]) => document.querySelectorAll('#swagger-ui .opblock').length >= n", arg=[operations], timeout=30_000
    )
    shown = page.locator("#swagger-ui .opblock-summary-path").all_inner_texts()
    assert {text.replace("\u200b", "") for text in shown} >= set(paths), shown
    page.screenshot(path=str(ARTIFACTS / "docs.png"), full_page=False)
    assert not watched.problems, watched.problems
    assert not watched.outside, watched.outside


def test_redoc_renders_the_operations_offline(seeded_stack: SeededStack, watched: WatchedPage) -> None:
    api = seeded_stack.pipeline.api
    page = watched.page
    response = page.goto(f"{api}/redoc")
    assert response is not None and response.status == 200
    page.wait_for_selector("text=newsflow read API", timeout=30_000)
    page.wait_for_function("() => document.querySelectorAll('[data-section-id^=\"operation/\"]').length > 5")
    assert page.locator("text=/articles").count() > 0
    page.screenshot(path=str(ARTIFACTS / "redoc.png"), full_page=False)
    assert not watched.problems, watched.problems
    assert not watched.outside, watched.outside


_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_CLOCK = re.compile(r"\b([01]\d|2[0-3]):[0-5]\d:[0-5]\d\b")
# True when every row of the grid's visible children is as full as its first row.
_FULL_ROWS = """(selector) => {
    const items = [...document.querySelector(selector).children].filter((el) => el.offsetParent !== null);
    const rows = new Map();
    for (const el of items) {
        const top = Math.round(el.getBoundingClientRect().top);
        const left = el.getBoundingClientRect().left, right = el.getBoundingClientRect().right;
        if (!rows.has(top)) rows.set(top, { count: 0, right: 0 });
        const row = rows.get(top);
        row.count += 1;
        row.right = Math.max(row.right, right);
    }
    const grid = document.querySelector(selector).getBoundingClientRect();
    return [...rows.values()].every((row) => grid.right - row.right < 4);
}"""
