"""``/dashboard``, ``/docs`` and ``/redoc`` in a real browser (Debian's chromium, headless, driven by Playwright).

Against a running stack. The dashboard must draw its charts from the store's own sampling (no
Prometheus involved), show the archive's count, list the latest articles, and log no console
error. Every page must work offline: a request to any host but 127.0.0.1 is refused and fails the
test. Full-page screenshots are kept in ``test-artifacts/`` for people to look at.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import REPO_ROOT
from tests.metrics.conftest import SeededStack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO_ROOT / "test-artifacts"
# Two polls of the page (every 5 s) and a margin for a loaded 2-core machine.
CHARTS_DRAWN_WITHIN_MS = 30_000
VIEWPORT = {"width": 1440, "height": 1000}

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")


@pytest.fixture
def browser() -> Iterator[object]:
    executable = CHROMIUM if CHROMIUM.exists() else None
    found = shutil.which("chromium")
    if executable is None and found is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium; `make test` does it as root)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable or found), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class WatchedPage:
    """A page whose console errors, page errors, failed requests and requests off this machine are kept."""

    page: Any
    problems: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)


@pytest.fixture
def watched(browser: Any) -> Iterator[WatchedPage]:
    page = browser.new_page(viewport=VIEWPORT)
    watched = WatchedPage(page)
    page.on("console", lambda message: watched.problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: watched.problems.append(str(error)))

    def route(route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1" or route.request.url.startswith("data:"):
            route.continue_()
        else:
            watched.outside.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    page.on(
        "requestfailed",
        lambda request: (
            watched.problems.append(f"request failed: {request.url}")
            if urlsplit(request.url).hostname == "127.0.0.1"
            else None
        ),
    )
    try:
        yield watched
    finally:
        page.close()


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
    # Every chart drew its points (lines) or bars.
    drawn = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('canvas')].map((canvas) => {
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
        """() => [...document.querySelectorAll('canvas')].flatMap((canvas) => {
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
