"""What a person meets on every page: no stray words, errors in their words, tables on a phone, documents, keyboard."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.async_api import Locator, Page, expect

from tests.browser.test_money_pages import SLOW, SUCCEEDING_CARD, pay_online, place_order
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


PHONE = 390


async def assert_on_screen(item: Locator) -> None:
    """`item` is shown wholly inside a phone's width: nothing to scroll sideways for."""
    await expect(item).to_be_visible()
    box = await item.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE, (await item.inner_text(), box)


async def test_invoices_orders_and_history_read_on_a_phone(portal: Any, page: Page) -> None:
    await sign_up(page, portal.gateway, new_email())
    order_id = await place_order(
        page, portal.gateway, "Wildcard TLS certificate, 1 year", "1", "9000"
    )  # awaits payment
    await expect(page.get_by_test_id("order-invoice")).to_contain_text("due", timeout=SLOW)
    await pay_online(page, portal.gateway, "1500", SUCCEEDING_CARD)

    await page.set_viewport_size({"width": PHONE, "height": 800})
    await page.goto(portal.gateway + "/invoices")
    due = page.get_by_role("row", name=re.compile(order_id))
    for item in (
        due.get_by_text("₹10,620.00"),
        due.get_by_text("due", exact=True),
        due.get_by_role("button", name=re.compile(r"^Download ")),
        due.get_by_role("link", name=re.compile("^Pay ")),
        due.locator("td[data-label='Total']"),
    ):
        await assert_on_screen(item)
    shown = await due.locator("td[data-label='Total']").evaluate("td => getComputedStyle(td, '::before').content")
    assert shown == '"Total"', shown  # each cell under its column's name
    await shot(page, "invoices-phone")

    await page.goto(portal.gateway + "/certificates/orders")
    order = page.get_by_role("row", name=re.compile(order_id))
    await assert_on_screen(order.get_by_text("₹10,620.00"))
    await assert_on_screen(order.get_by_text("awaiting payment"))
    await shot(page, "orders-phone")

    await page.goto(portal.gateway + "/billing/history")
    payment = page.get_by_test_id("payments").get_by_role("row", name=re.compile("succeeded"))
    await assert_on_screen(payment.get_by_text("₹1,500.00"))
    await assert_on_screen(payment.get_by_text("succeeded"))
    ledger = page.get_by_test_id("ledger").get_by_role("row", name=re.compile(r"\+₹1,500\.00"))
    await assert_on_screen(ledger.get_by_text("+₹1,500.00"))
    await shot(page, "history-phone")
    for path in ("/invoices", "/certificates/orders", "/billing/history"):
        await page.goto(portal.gateway + path)
        await expect(page.get_by_role("heading", level=2)).to_be_visible()
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE, path
