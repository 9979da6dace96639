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


async def test_sign_up_shows_every_wrong_field_at_once_in_a_persons_words(portal: Any, page: Page) -> None:
    await page.goto(portal.gateway + "/signup")
    await page.get_by_label("Your email").fill("nobody")
    await page.get_by_label("Password").fill("short")
    await page.get_by_role("button", name="Create account").click()
    form = page.locator("form")
    await expect(form.get_by_text("Must be filled in.")).to_be_visible()  # the account name, not the browser's bubble
    await expect(form.get_by_text("Must be an email address, such as name@example.com.")).to_be_visible()
    await expect(form.get_by_text("Must be at least 12 characters.")).to_be_visible()
    await expect(page.get_by_label("Company or account name")).to_be_focused()
    await expect(form.locator("[aria-invalid=true]")).to_have_count(3)
    await expect(form).not_to_contain_text("should")
    await shot(page, "signup-errors")


async def test_the_ip_rule_form_shows_both_wrong_addresses_at_once(portal: Any, page: Page) -> None:
    await sign_up(page, portal.gateway, new_email())
    await page.goto(portal.gateway + "/ip-restrictions")
    await page.get_by_label("Allowed IP start address").fill("10.0.0.300")
    await page.get_by_label("Allowed IP end address").fill("nowhere")
    await page.get_by_role("button", name="Add rule").click()
    form = page.locator("form")
    await expect(
        form.get_by_text("Must be an IPv4 address (203.0.113.5) or an IPv6 address (2001:db8::5).")
    ).to_have_count(2)
    await page.get_by_label("Allowed IP start address").fill("10.0.0.9")
    await page.get_by_label("Allowed IP end address").fill("10.0.0.1")
    await page.get_by_role("button", name="Add rule").click()
    await expect(form.get_by_text("Must not be lower than the start address.")).to_be_visible()
    await expect(form).not_to_contain_text("start_ip")
    await shot(page, "ip-rule-errors")
