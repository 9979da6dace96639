"""What a person meets on every page: no stray words, errors in their words, tables on a phone, documents, keyboard."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.test_money_pages import SUCCEEDING_CARD, pay_online
from tests.support.browser import assert_no_stray_text, shot, sign_up


def new_email() -> str:
    return f"{uuid.uuid4().hex[:10]}@example.com"


async def test_the_stray_text_check_names_what_it_finds(page: Page) -> None:
    # Every screenshot of a journey runs this check; this shows it can fail.
    await page.set_content('<html lang="en"><body><main><h1>t</h1>null<p>Total: undefined</p></main></body></html>')
    with pytest.raises(AssertionError) as failure:
        await assert_no_stray_text(page)
    assert "null" in str(failure.value)
    assert "Total: undefined" in str(failure.value)


async def test_no_page_of_the_login_and_payment_journey_prints_null(portal: Any, page: Page) -> None:
    await page.goto(portal.gateway + "/login")
    await expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    await shot(page, "login-clean")  # nothing but the form above the Email field

    await sign_up(page, portal.gateway, new_email())
    await pay_online(page, portal.gateway, "1500", SUCCEEDING_CARD)
    await expect(page.get_by_test_id("payment-result")).to_contain_text("succeeded")
    await shot(page, "payment-result-clean")  # the result card after the payment page
