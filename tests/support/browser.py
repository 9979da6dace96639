"""What the browser tests share: screenshots of each journey's steps (checked by axe-core), signing up in the UI."""

from __future__ import annotations

import os
from pathlib import Path

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "tests" / "browser" / "screenshots"
DOC_SHOTS = ROOT / "docs" / "screenshots"

# WCAG 2.1 A and AA plus axe's best practices: what a screen-reader or keyboard user trips over.
AXE_OPTIONS = {
    "resultTypes": ["violations"],
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
}
_axe = Axe()


async def assert_accessible(page: Page) -> None:
    """axe-core finds no violation in the page as it is now (each violation named with the elements it found)."""
    results = await _axe.run(page, options=AXE_OPTIONS)
    found = [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:5])
        for violation in results.response["violations"]
    ]
    assert not found, f"axe-core found accessibility violations on {page.url}:\n" + "\n".join(found)


# Text a script printed by mistake: a null/false child given to the DOM's append(), a missing field.
STRAY_TEXT = """() => {
  const whole = /^(null|undefined|false|NaN|\\[object Object\\])$/;
  const inside = /\\bundefined\\b|\\bNaN\\b|\\[object Object\\]/;
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (node.parentElement.closest("script, style, noscript")) continue;
    const text = node.nodeValue.trim();
    const tag = node.parentElement.tagName.toLowerCase();
    if (whole.test(text) || inside.test(text)) found.push(`${tag}: ${text.slice(0, 80)}`);
  }
  return found;
}"""


async def assert_no_stray_text(page: Page) -> None:
    """No text of the page is a stray `null`, `undefined`, `false`, `NaN` or `[object Object]`."""
    found = await page.evaluate(STRAY_TEXT)
    assert not found, f"stray text on {page.url}: {found}"


async def shot(page: Page, name: str, *, document: bool = False) -> None:
    """A screenshot of the journey's step, which axe-core must find accessible and free of stray text.

    `document=True` marks a main page for docs/screenshots.
    """
    await assert_no_stray_text(page)
    await assert_accessible(page)
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
