"""What the browser tests share: screenshots of each journey's steps and signing up through the UI."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.async_api import Page

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "tests" / "browser" / "screenshots"
DOC_SHOTS = ROOT / "docs" / "screenshots"


async def shot(page: Page, name: str, *, document: bool = False) -> None:
    """A screenshot of the journey's step; `document=True` marks a main page for docs/screenshots."""
    SHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=SHOTS / f"{name}.png", full_page=True)
    if document and os.environ.get("TOLLGATE_TEST_UPDATE_SCREENSHOTS") == "1":
        DOC_SHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=DOC_SHOTS / f"{name}.png", full_page=True)


async def sign_up(page: Page, base: str, email: str, password: str = "correct horse battery staple") -> None:
    """Sign up through the UI and land on the dashboard."""
    await page.goto(f"{base}/signup")
    await page.get_by_label("Company or account name").fill("Acme Widgets")
    await page.get_by_label("Your email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Create account").click()
    await page.get_by_test_id("balance").wait_for()
