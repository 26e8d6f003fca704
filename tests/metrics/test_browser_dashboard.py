"""``/dashboard`` in a real browser (Debian's chromium, headless, driven by Playwright) against a running stack.

The page must draw its charts from the store's own sampling (no Prometheus involved), show the
seeds' count, list the seeds as the latest articles, and log no console error. A full-page
screenshot is kept in ``test-artifacts/`` for people to look at.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

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


def test_dashboard_draws_the_pipeline_with_the_seeds(seeded_stack: SeededStack, browser: object) -> None:
    page = browser.new_page(viewport=VIEWPORT)  # type: ignore[attr-defined]
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))

    response = page.goto(f"{seeded_stack.pipeline.api}/dashboard")
    assert response is not None and response.status == 200
    seeds = seeded_stack.seeds
    # Drawn twice: the second poll has at least two samples, so the rate charts have points.
    page.wait_for_function(
        "([n]) => Number(document.body.dataset.drawn || 0) >= 2"
        " && document.getElementById('kpi-articles').textContent === String(n)",
        arg=[seeds],
        timeout=CHARTS_DRAWN_WITHIN_MS,
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    assert page.locator("#kpi-articles").inner_text() == str(seeds)
    assert page.locator("#kpi-originals").inner_text() == str(seeds), "the five seeds are different articles"
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
    pills = page.locator("#services .pill").all_inner_texts()
    assert sorted(pills) == ["enrich up", "ingest up", "store up"], pills
    rows = page.locator("#latest-articles tbody tr")
    assert rows.count() == seeds
    assert "Imran Khan" in page.locator("#top-entities").inner_text()
    assert page.locator("#banner").is_hidden()
    assert not problems, problems
