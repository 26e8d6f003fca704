"""A real browser for the tests of the pages the API serves (Debian's chromium, headless, driven by Playwright).

``browser`` launches chromium (the test skips when it or Playwright is missing: ``make system-deps``
installs it as root); ``watched`` is a page of it that keeps every console error, page error and
failed request, and refuses any request to a host but 127.0.0.1 (kept in ``outside``): the pages
must work offline. Registered for every test by ``tests/conftest.py``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Screenshots for people to look at.
ARTIFACTS = REPO_ROOT / "test-artifacts"
VIEWPORT = {"width": 1440, "height": 1000}


@pytest.fixture
def browser() -> Iterator[object]:
    # Imported here, not at the top: this module is a plugin of every test, most of which need no browser.
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
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
