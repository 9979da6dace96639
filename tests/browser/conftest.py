"""The portal in a real browser: Debian's headless Chromium driven by Playwright, against the whole system.

The services run as in the integration tests (real PostgreSQL and RabbitMQ);
the browser talks only to the gateway. Screenshots of each journey go to
`tests/browser/screenshots/` (ignored by git); with TOLLGATE_TEST_UPDATE_SCREENSHOTS=1
the main pages are also written to `docs/screenshots/` for the README.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

pytestmark = pytest.mark.integration

HOW_TO_INSTALL = "Browser tests need Debian's chromium: `apt-get install chromium` (`make test` does this as root)."


def chromium_path() -> str:
    found = os.environ.get("TOLLGATE_TEST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail(HOW_TO_INSTALL)  # never a silent skip
    return found


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        yield launched
        await launched.close()


@pytest.fixture
async def portal(start_system: Any) -> Any:
    """The whole system; `portal.gateway` is the address the browser opens."""
    return await start_system(services=("auth", "billing", "invoicing"))


@pytest.fixture
async def page(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    await context.close()
    # A script error anywhere in a journey fails it, even if the assertions passed.
    assert not errors, errors
