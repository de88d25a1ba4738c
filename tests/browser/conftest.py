"""A real headless Chromium (the system's, driven by Playwright) against the storefront as
its own process, in front of the whole stack.

The browser is the distribution's (``scripts/install-chromium.sh`` installs it; Playwright
downloads none). Without it the suite is skipped with that reason, or fails when
BOOKSTORE_TEST_REQUIRE_INFRA=1. Each test gets a fresh browser context: its own cookies.
Set BOOKSTORE_SCREENSHOTS to a directory to save the main pages there along the way.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.stack import Stack
from tests.storefront import StockedBook, Storefront, add_books, running_storefront, unique_word

CHROMIUM = os.environ.get("BOOKSTORE_CHROMIUM", "/usr/bin/chromium")
#: Generous for a busy machine: the saga settles within seconds when idle.
SAGA_WAIT_MS = 60_000


@pytest.fixture(scope="session")
def storefront(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Storefront]:
    with running_storefront(stack, tmp_path_factory.mktemp("web")) as running:
        yield running


@pytest.fixture(scope="module")
def playwright(storefront: Storefront) -> Iterator[Playwright]:
    """Playwright's synchronous API runs an event loop in this thread while it is open, and
    no other can start meanwhile: so it opens after the stack (whose clean-up runs a loop)
    and closes with its module, before any other suite's asyncio tests."""
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM}: run scripts/install-chromium.sh"
        if os.environ.get("BOOKSTORE_TEST_REQUIRE_INFRA") == "1":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
    yield launched
    launched.close()


@pytest.fixture
def context(browser: Browser, storefront: Storefront) -> Iterator[BrowserContext]:
    fresh = browser.new_context(base_url=storefront.url, viewport={"width": 1100, "height": 900})
    fresh.set_default_timeout(15_000)
    yield fresh
    fresh.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture(scope="session")
def shelf(stack: Stack) -> tuple[str, list[StockedBook]]:
    """Two books sharing a word no other test uses, plenty in stock."""
    word = unique_word()
    return word, add_books(stack, (f"The {word} Atlas of Rivers", 2450, 50),
                           (f"{word}: Poems for Long Journeys", 1299, 50), author="Ida Marsh")


@pytest.fixture
def screenshots() -> Path | None:
    folder = os.environ.get("BOOKSTORE_SCREENSHOTS")
    if not folder:
        return None
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path
