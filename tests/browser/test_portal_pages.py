"""What a person meets on every page: no stray words, errors in their words, tables on a phone, documents, keyboard."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Locator, Page, expect

from tests.support.auth_client import new_email
from tests.support.browser import assert_no_stray_text, shot, sign_up
from tests.support.money_pages import SLOW, SUCCEEDING_CARD, pay_online, place_order


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
    await expect(form.get_by_text("Must be filled in")).to_be_visible()  # the account name, not the browser's bubble
    await expect(form.get_by_text("Must be an email address, such as name@example.com")).to_be_visible()
    await expect(form.get_by_text("Must be at least 12 characters")).to_be_visible()
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
        form.get_by_text("Must be an IPv4 address (203.0.113.5) or an IPv6 address (2001:db8::5)")
    ).to_have_count(2)
    await page.get_by_label("Allowed IP start address").fill("10.0.0.9")
    await page.get_by_label("Allowed IP end address").fill("10.0.0.1")
    await page.get_by_role("button", name="Add rule").click()
    await expect(form.get_by_text("Must not be lower than the start address")).to_be_visible()
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


async def test_an_invoice_and_a_receipt_open_as_pages_with_pay_and_download(
    portal: Any, page: Page, tmp_path: Path
) -> None:
    await sign_up(page, portal.gateway, new_email())
    await pay_online(page, portal.gateway, "3000", SUCCEEDING_CARD)  # a receipt
    paid_id = await place_order(page, portal.gateway, "TLS certificate, 1 year", "2", "1000")  # paid from credits
    invoice_link = page.get_by_test_id("order-invoice").get_by_role("link", name=re.compile(r"^TGI"))
    await expect(page.get_by_test_id("order-invoice")).to_contain_text("paid", timeout=SLOW)
    await invoice_link.click()  # View Order links its invoice

    await expect(page.get_by_role("heading", level=2)).to_contain_text("Tax Invoice TGI/")
    document_id = page.url.rsplit("/", 1)[1]
    document = (await (await page.request.get(f"{portal.gateway}/api/invoices/{document_id}")).json())["document"]
    assert document["order_id"] == paid_id
    rows = page.locator("article table tbody tr")
    await expect(rows).to_have_count(len(document["lines"]))
    for row, line in zip(await rows.all(), document["lines"], strict=True):
        await expect(row).to_contain_text(line["description"])
        await expect(row).to_contain_text(line["sac"])
    totals = page.get_by_test_id("document-totals")
    await expect(totals).to_contain_text("₹2,000.00")  # taxable value
    await expect(totals).to_contain_text("₹180.00")  # CGST and SGST at 9% each
    await expect(totals).to_contain_text("₹2,360.00")
    assert document["totals"]["total"] == "2360.00"
    await expect(page.get_by_test_id("in-words")).to_have_text(document["total_in_words"])
    await expect(page.get_by_test_id("document-payment")).to_contain_text("Credits")
    await expect(page.get_by_role("link", name=re.compile("^Pay "))).to_have_count(0)  # paid already
    await shot(page, "invoice-page", document=True)
    await page.set_viewport_size({"width": PHONE, "height": 800})  # and on a phone, without sideways scrolling
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE
    await assert_on_screen(totals)
    await shot(page, "invoice-page-phone")
    await page.set_viewport_size({"width": 1280, "height": 800})
    async with page.expect_download() as saved:
        await page.get_by_role("button", name="Download PDF").click()
    await (await saved.value).save_as(tmp_path / "invoice.pdf")
    assert (tmp_path / "invoice.pdf").read_bytes().startswith(b"%PDF")

    # The receipt, from the Invoices list (its number is the link; the Actions column is labelled).
    await page.goto(portal.gateway + "/invoices")
    await expect(page.get_by_role("columnheader", name="Actions")).to_be_visible()
    await page.get_by_role("link", name=re.compile(r"^TGR")).click()
    await expect(page.get_by_role("heading", level=2)).to_contain_text("Receipt Voucher TGR/")
    await expect(page.get_by_test_id("document-totals")).to_contain_text("₹3,000.00")
    await expect(page.get_by_test_id("document-payment")).to_contain_text("Online")
    await shot(page, "receipt-page")

    # A due invoice: Pay leads to its order's payment, as the list's Pay does.
    due_id = await place_order(page, portal.gateway, "Code signing certificate", "1", "5000")
    await expect(page.get_by_test_id("order-invoice")).to_contain_text("due", timeout=SLOW)
    await page.get_by_test_id("order-invoice").get_by_role("link", name=re.compile(r"^TGI")).click()
    await expect(page.get_by_test_id("document-status")).to_have_text("due")
    await page.get_by_role("link", name="Pay ₹5,900.00").click()
    await expect(page.get_by_role("heading", name="View Order")).to_be_visible()
    assert page.url.endswith(f"/certificates/orders/{due_id}")
    # The credits left (₹3,000.00 less ₹2,360.00) cover part of it: paying online charges the rest.
    await expect(page.get_by_role("button", name="Pay ₹5,260.00 online")).to_be_visible()

    await page.goto(f"{portal.gateway}/invoices/00000000-0000-0000-0000-000000000000")
    await expect(page.get_by_role("heading", name="Document not found")).to_be_visible()


def luminance(rgb: str) -> float:
    """WCAG's relative luminance of a CSS `rgb(r, g, b)` colour."""
    channels = [int(part) / 255 for part in re.findall(r"\d+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    lighter, darker = sorted((luminance(one), luminance(other)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


async def test_the_focus_ring_stands_out_against_white_and_the_accent(portal: Any, page: Page) -> None:
    await page.goto(portal.gateway + "/login")
    await page.get_by_label("Email").focus()
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")  # to the Log in button, by keyboard: :focus-visible applies
    button = page.get_by_role("button", name="Log in")
    await expect(button).to_be_focused()
    ring = await button.evaluate("b => getComputedStyle(b).outlineColor")
    accent = await button.evaluate("b => getComputedStyle(b).backgroundColor")
    assert await button.evaluate("b => getComputedStyle(b).outlineStyle") == "solid"
    assert contrast(ring, "rgb(255, 255, 255)") >= 3, ring
    assert contrast(ring, accent) >= 3, (ring, accent)
    await shot(page, "login-focus-ring")


async def test_a_status_message_is_said_through_the_live_region_already_on_the_page(portal: Any, page: Page) -> None:
    await sign_up(page, portal.gateway, new_email())
    await page.goto(portal.gateway + "/users")
    region = page.locator("#announcer")
    await expect(region).to_have_attribute("role", "status")
    await region.evaluate("r => { r.dataset.before = 'yes'; }")  # the same element afterwards, not a new one
    email = new_email()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Initial password").fill("a long and unusual passphrase")
    await page.get_by_role("button", name="Add user").click()
    await expect(page.get_by_test_id("users-result")).to_contain_text(f"{email} is added.")
    await expect(region).to_contain_text(f"{email} is added.")
    await expect(region).to_have_attribute("data-before", "yes")


async def test_escape_cancels_a_confirmation_and_focus_returns_to_its_button(portal: Any, page: Page) -> None:
    await sign_up(page, portal.gateway, new_email())
    await page.goto(portal.gateway + "/users")
    member = new_email()
    await page.get_by_label("Email").fill(member)
    await page.get_by_label("Initial password").fill("a long and unusual passphrase")
    await page.get_by_role("button", name="Add user").click()
    row = page.get_by_role("row", name=re.compile(re.escape(member)))
    await row.get_by_role("button", name=f"Deactivate {member}").click()
    await expect(row.get_by_role("button", name="Yes, deactivate")).to_be_focused()
    await shot(page, "users-confirm-deactivate")
    await page.keyboard.press("Escape")
    await expect(row.get_by_role("button", name="Yes, deactivate")).to_have_count(0)
    await expect(row.get_by_role("button", name=f"Deactivate {member}")).to_be_focused()
    await expect(row).to_contain_text("Active")

    # IP Restrictions: the delete confirmation, and the warning before a change that locks the administrator out.
    await page.goto(portal.gateway + "/ip-restrictions")
    await page.get_by_role("button", name="Use my current IP").click()
    await page.get_by_role("button", name="Add rule").click()
    await expect(page.get_by_test_id("ip-result")).to_contain_text("is saved")
    delete = page.get_by_role("button", name=re.compile("^Delete the rule "))
    await delete.click()
    await expect(page.get_by_role("button", name="Yes, delete")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("button", name="Yes, delete")).to_have_count(0)
    await expect(delete).to_be_focused()

    await page.get_by_label("Allowed IP start address").fill("10.9.9.1")
    await page.get_by_label("Allowed IP end address").fill("10.9.9.2")
    await page.get_by_role("button", name="Add rule").click()
    await expect(page.get_by_role("row", name=re.compile("10.9.9.1"))).to_be_visible()
    mine = await page.get_by_test_id("your-ip").inner_text()
    disable = page.get_by_role("button", name=f"Disable the rule {mine} \u2013 {mine}")
    await disable.click()  # the other rule alone would shut this address out
    warning = page.get_by_test_id("lockout-warning")
    await expect(warning).to_be_focused()
    await shot(page, "ip-lockout-warning-focused")
    await page.keyboard.press("Escape")
    await expect(warning).to_have_count(0)
    await expect(disable).to_be_focused()
    await expect(page.locator("td .status.enabled")).to_have_count(2)  # nothing changed
