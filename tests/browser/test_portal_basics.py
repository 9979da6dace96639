"""The portal's shell: a visitor sees the login form, sign-up lands on the dashboard, a lost session asks to log in."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.support.auth_client import new_email
from tests.support.browser import assert_accessible, shot, sign_up


async def test_a_visitor_gets_the_login_form_and_sign_up_lands_on_the_dashboard(portal: Any, page: Page) -> None:
    await page.goto(portal.gateway + "/")
    await expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    await shot(page, "login", document=True)

    await sign_up(page, portal.gateway, new_email())
    await expect(page.get_by_test_id("balance")).to_have_text("₹0.00")
    await shot(page, "dashboard", document=True)

    # The session ends (cookies gone): the next page asks to log in and comes back afterwards.
    await page.context.clear_cookies()
    await page.goto(portal.gateway + "/invoices?kind=receipt")
    await expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    assert "next=%2Finvoices%3Fkind%3Dreceipt" in page.url


async def test_a_phone_width_screen_still_reads(portal: Any, page: Page) -> None:
    await page.set_viewport_size({"width": 375, "height": 740})
    await sign_up(page, portal.gateway, new_email())
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways: {width}px"


async def test_the_accessibility_check_names_what_axe_finds(page: Page) -> None:
    # Every screenshot of a journey runs axe-core; this shows the check can fail.
    await page.set_content('<html lang="en"><title>t</title><main><img src="data:,"><button></button></main></html>')
    with pytest.raises(AssertionError) as failure:
        await assert_accessible(page)
    assert "image-alt" in str(failure.value)
    assert "button-name" in str(failure.value)
