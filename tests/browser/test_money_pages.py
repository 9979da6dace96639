"""Money in the portal: credits online (sandbox card) and offline (approved by finance), orders, invoices, PDFs."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.async_api import Browser, Page, Route, expect

from tests.support.auth_client import new_email
from tests.support.browser import shot, sign_up
from tests.support.harness import TEST_INTERNAL_KEY, TEST_SECRET_KEY
from tests.support.money_pages import DECLINED_CARD, SLOW, SUCCEEDING_CARD, pay_online, place_order

PDF_NAME = re.compile(r"^[A-Z]+-\d\d-\d\d-\d{6}\.pdf$")  # INV/25-26/000001 saved as INV-25-26-000001.pdf


async def lose_the_first_answer(page: Page, path: str) -> list[str]:
    """The first request to `path` reaches billing, but its answer never reaches the browser; the
    Idempotency-Key of every request to `path`, in order."""
    keys: list[str] = []

    async def lose(route: Route) -> None:
        keys.append(route.request.headers.get("idempotency-key", ""))
        if len(keys) > 1:
            await route.continue_()
            return
        await route.fetch()
        await route.abort("connectionreset")

    await page.route(path, lose)
    return keys


async def test_pay_pressed_again_after_a_lost_answer_opens_one_checkout(portal: Any, page: Page) -> None:
    await sign_up(page, portal.gateway, new_email())
    await page.goto(f"{portal.gateway}/billing/add-credits")
    keys = await lose_the_first_answer(page, "**/api/billing/credits/online")
    online = page.get_by_role("tabpanel", name="Online")
    await online.get_by_label("Amount").fill("700")
    await online.get_by_role("button", name="Pay", exact=True).click()
    await expect(online.get_by_text("Tollgate cannot be reached")).to_be_visible()
    await online.get_by_role("button", name="Pay", exact=True).click()  # the user tries again
    await page.wait_for_url("**/sandbox/checkout/**")
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1], keys  # the retry carried the same key

    await page.goto(f"{portal.gateway}/billing/history")
    await expect(page.get_by_test_id("payments").get_by_role("row", name=re.compile("pending"))).to_have_count(1)


async def test_pay_from_credits_pressed_again_after_a_lost_answer_pays_once(portal: Any, page: Page) -> None:
    await sign_up(page, portal.gateway, new_email())
    order_id = await place_order(page, portal.gateway, "DV SSL certificate, 1 year", "1", "1000")  # awaits payment
    await pay_online(page, portal.gateway, "2000", SUCCEEDING_CARD)
    await expect(page.get_by_test_id("balance")).to_have_text("₹2,000.00")
    await page.goto(f"{portal.gateway}/certificates/orders/{order_id}")
    keys = await lose_the_first_answer(page, f"**/api/billing/orders/{order_id}/pay")
    await page.get_by_role("button", name="Pay from credits").click()
    await expect(page.get_by_text("Tollgate cannot be reached")).to_be_visible()
    await page.get_by_role("button", name="Pay from credits").click()  # the user tries again
    await expect(page.locator("#view").get_by_text("The order is paid from your credits.")).to_be_visible()
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1], keys  # the retry carried the same key
    await page.goto(f"{portal.gateway}/billing/add-credits")
    await expect(page.get_by_test_id("balance")).to_have_text("₹820.00")  # 1,180.00 with GST, taken once


async def test_credits_paid_online_with_the_sandbox_card_reach_the_balance(portal: Any, page: Page) -> None:
    await sign_up(page, portal.gateway, new_email())
    await pay_online(page, portal.gateway, "5000", SUCCEEDING_CARD, screenshot=True)

    await expect(page.get_by_test_id("payment-result")).to_contain_text("Payment of ₹5,000.00 succeeded")
    await expect(page.get_by_test_id("balance")).to_have_text("₹5,000.00")

    await page.get_by_role("link", name="Payments and ledger history").click()
    await expect(page.get_by_test_id("payments")).to_contain_text("succeeded")
    await expect(page.get_by_test_id("ledger").get_by_role("row").nth(1)).to_contain_text("+₹5,000.00")
    await expect(page.get_by_text("null", exact=True)).to_have_count(0)  # an empty pager leaves nothing behind
    await shot(page, "billing-history")

    # On a phone the tables scroll inside their box; the page itself never scrolls sideways.
    await page.set_viewport_size({"width": 375, "height": 740})
    for path in ("/billing/history", "/billing/add-credits", "/invoices"):
        await page.goto(portal.gateway + path)
        await expect(page.get_by_role("heading", level=2)).to_be_visible()
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path} scrolls sideways: {width}px"


async def test_a_declined_card_changes_nothing_and_recheck_tells_the_status(portal: Any, page: Page) -> None:
    await sign_up(page, portal.gateway, new_email())
    payment_id = await pay_online(page, portal.gateway, "1000.50", DECLINED_CARD)

    await expect(page.get_by_test_id("payment-result")).to_contain_text("The payment of ₹1,000.50 failed")
    await expect(page.get_by_test_id("balance")).to_have_text("₹0.00")

    recheck = page.get_by_role("tabpanel", name="Online")
    await recheck.get_by_label("Payment ID").fill(payment_id)
    await recheck.get_by_role("button", name="Recheck Payment Status").click()
    await expect(page.get_by_test_id("recheck-result")).to_contain_text("failed")
    await recheck.get_by_label("Payment ID").fill(str(uuid.uuid4()))
    await recheck.get_by_role("button", name="Recheck Payment Status").click()
    await expect(recheck.get_by_text("No such payment.")).to_be_visible()
    await expect(recheck.get_by_label("Payment ID")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_test_id("balance")).to_have_text("₹0.00")

    # Cancelling on the provider's page comes back with nothing charged.
    online = page.get_by_role("tabpanel", name="Online")
    await online.get_by_label("Amount").fill("700")
    await online.get_by_role("button", name="Pay", exact=True).click()
    await page.wait_for_url("**/sandbox/checkout/**")
    await page.get_by_role("link", name="Cancel and go back").click()
    await expect(page.get_by_test_id("payment-result")).to_contain_text("You cancelled the payment of ₹700.00")
    await expect(page.get_by_test_id("balance")).to_have_text("₹0.00")


@pytest.fixture
async def finance_page(
    portal: Any, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Page, str, str]]:
    """A finance staff user (created with `tollgate staff create`) in a browser of their own, not yet logged in."""
    from tollgate.cli import main

    email, password = new_email(), "ledger balanced 2026!"
    for name, value in {
        "TOLLGATE_AUTH_DATABASE_URL": portal.database_urls["auth"],
        "TOLLGATE_SECRET_KEY": TEST_SECRET_KEY,
        "TOLLGATE_INTERNAL_KEY": TEST_INTERNAL_KEY,
        "TOLLGATE_STAFF_PASSWORD": password,
    }.items():
        monkeypatch.setenv(name, value)
    assert await asyncio.to_thread(main, ["staff", "create", "--email", email, "--role", "finance"]) == 0
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    staff_page = await context.new_page()
    errors: list[str] = []
    staff_page.on("pageerror", lambda error: errors.append(str(error)))
    yield staff_page, email, password
    await context.close()
    assert not errors, errors


async def staff_log_in(page: Page, base: str, email: str, password: str) -> None:
    """Staff enrol TOTP at their first login: the secret shown, a code computed from it, the recovery codes."""
    await page.goto(f"{base}/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()
    secret = await page.get_by_test_id("totp-secret").text_content()
    assert secret
    await page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="Verify and continue").click()
    await page.get_by_role("button", name="I have saved them — continue").click()
    await expect(page.get_by_role("heading", name="Offline payments")).to_be_visible()


async def test_an_offline_payment_approved_by_finance_reaches_the_balance(
    portal: Any, page: Page, finance_page: tuple[Page, str, str]
) -> None:
    await sign_up(page, portal.gateway, new_email())
    await page.goto(f"{portal.gateway}/billing/add-credits")
    await page.get_by_role("tab", name="Offline").click()
    offline = page.get_by_role("tabpanel", name="Offline")
    reference = f"UTR{uuid.uuid4().hex[:10].upper()}"
    await offline.get_by_label("Amount").fill("5000")
    await offline.get_by_label("Mode of payment").select_option("rtgs")
    await offline.get_by_label("Reference (UTR or cheque number)").fill("WRONG")
    await offline.get_by_label("Bank (optional)").fill("HDFC Bank")
    await offline.get_by_role("button", name="Make Payment").click()
    review = page.get_by_test_id("offline-review")
    await expect(review).to_contain_text("WRONG")
    await offline.get_by_role("button", name="Edit").click()  # the details come back as they were typed
    await expect(offline.get_by_label("Bank (optional)")).to_have_value("HDFC Bank")
    await offline.get_by_label("Reference (UTR or cheque number)").fill(reference)
    await offline.get_by_role("button", name="Make Payment").click()
    await expect(review).to_contain_text(reference)
    await expect(review).to_contain_text("₹5,000.00")
    await expect(review).to_contain_text("RTGS")
    await shot(page, "offline-review", document=True)

    keys = await lose_the_first_answer(page, "**/api/billing/credits/offline")
    await offline.get_by_role("button", name="Submit Offline Payment").click()
    await expect(offline.get_by_text("Tollgate cannot be reached")).to_be_visible()
    await offline.get_by_role("button", name="Submit Offline Payment").click()  # the user tries again
    await expect(offline.get_by_text("Thank you. We have received the details of your payment")).to_be_visible()
    assert len(keys) == 2 and keys[0] == keys[1], keys  # the retry carried the same Idempotency-Key
    requests = page.get_by_test_id("offline-requests")
    await expect(requests.get_by_role("row", name=re.compile(reference))).to_have_count(1)
    await expect(requests.get_by_role("row", name=re.compile(reference))).to_contain_text("pending approval")
    await expect(page.get_by_test_id("balance")).to_have_text("₹0.00")

    staff, email, password = finance_page
    await staff_log_in(staff, portal.gateway, email, password)
    card = staff.get_by_role("article", name=f"Offline payment {reference}")
    await expect(card).to_contain_text("HDFC Bank")
    await card.get_by_label("Amount received").fill("4990")
    await card.get_by_role("button", name="Approve").click()  # another amount without a reason
    await expect(card.get_by_label("Reason")).to_have_attribute("aria-invalid", "true")
    await card.get_by_label("Reason").fill("Bank charges of ₹10 deducted")
    await shot(staff, "finance", document=True)
    await card.get_by_role("button", name="Approve").click()
    await expect(staff.locator("#view").get_by_text(f"Approved ₹4,990.00 for {reference}")).to_be_visible()
    await staff.get_by_role("link", name="Approved").click()
    await expect(staff.get_by_role("row", name=re.compile(reference))).to_contain_text("Bank charges")

    await page.reload()  # the address remembers the Offline tab
    await expect(page.get_by_test_id("balance")).to_have_text("₹4,990.00")
    await expect(page.get_by_role("tab", name="Offline")).to_have_attribute("aria-selected", "true")
    row = page.get_by_test_id("offline-requests").get_by_role("row", name=re.compile(reference))
    await expect(row).to_contain_text("approved")
    await expect(row).to_contain_text("Bank charges of ₹10 deducted")


async def test_an_order_paid_from_credits_has_its_invoice_listed_and_downloadable(
    portal: Any, page: Page, tmp_path: Path
) -> None:
    await sign_up(page, portal.gateway, new_email())
    await pay_online(page, portal.gateway, "5000", SUCCEEDING_CARD)
    order_id = await place_order(page, portal.gateway, "TLS certificate, 1 year", "2", "1000")

    await expect(page.get_by_test_id("order-status")).to_have_text("paid")
    totals = page.get_by_test_id("order-totals")
    await expect(totals).to_contain_text("₹2,000.00")
    await expect(totals).to_contain_text("₹2,360.00")  # GST at 18% (CGST + SGST within the state)
    download_invoice = page.get_by_role("button", name="Download Invoice")
    await expect(download_invoice).to_be_visible(timeout=SLOW)
    await expect(page.get_by_test_id("order-invoice")).to_contain_text("paid", timeout=SLOW)
    await shot(page, "order", document=True)
    async with page.expect_download() as from_order:
        await download_invoice.click()
    await saved_pdf(await from_order.value, tmp_path / "from-order.pdf")

    await page.get_by_role("link", name="Invoices", exact=True).click()
    row = page.get_by_role("row", name=re.compile(order_id))
    await expect(row).to_contain_text("Invoice")
    await expect(row).to_contain_text("₹2,360.00")
    await expect(row).to_contain_text("paid")
    receipt = page.get_by_role("row", name=re.compile("Receipt"))
    await expect(receipt).to_contain_text("₹5,000.00")
    await shot(page, "invoices", document=True)
    async with page.expect_download() as from_list:
        await row.get_by_role("button", name=re.compile(r"^Download .* \(PDF\)$")).click()
    await saved_pdf(await from_list.value, tmp_path / "from-list.pdf")

    # Filters live in the address: the view is linkable and survives a reload.
    await page.get_by_label("Kind").select_option("receipt")
    await page.get_by_role("button", name="Apply filters").click()
    await page.wait_for_url(re.compile(r"/invoices\?kind=receipt$"))
    await page.reload()
    await expect(page.get_by_label("Kind")).to_have_value("receipt")
    await expect(page.get_by_role("row", name=re.compile(order_id))).to_have_count(0)
    await expect(page.get_by_role("row", name=re.compile("Receipt"))).to_have_count(1)
    await page.goto(f"{portal.gateway}/invoices?from=2030-01-02&to=2030-01-01")
    await expect(page.get_by_text("must not be after the To date")).to_be_visible()


async def test_an_order_the_credits_do_not_cover_is_paid_online_from_its_invoice(portal: Any, page: Page) -> None:
    await sign_up(page, portal.gateway, new_email())
    order_id = await place_order(page, portal.gateway, "Code signing certificate", "1", "500")
    await expect(page.get_by_test_id("order-status")).to_have_text("awaiting payment")
    await expect(page.get_by_test_id("order-invoice")).to_contain_text("due", timeout=SLOW)

    await page.get_by_role("link", name="Invoices", exact=True).click()
    await page.get_by_role("row", name=re.compile(order_id)).get_by_role("link", name=re.compile("^Pay ")).click()
    await expect(page.get_by_role("heading", name="View Order")).to_be_visible()
    await expect(page.get_by_role("button", name="Pay from credits")).to_be_disabled()
    await expect(page.get_by_text("does not cover the total")).to_contain_text("₹590.00")
    await page.get_by_role("button", name="Pay ₹590.00 online").click()
    await page.wait_for_url("**/sandbox/checkout/**")
    await page.get_by_label("Card number").fill(SUCCEEDING_CARD)
    await page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    await page.wait_for_url(re.compile(rf"/certificates/orders/{order_id}\?payment_id="))
    await expect(page.locator("#view").get_by_text("Payment of ₹590.00 received; the order is paid.")).to_be_visible()
    await expect(page.get_by_test_id("order-status")).to_have_text("paid")
    await expect(page.get_by_test_id("order-invoice")).to_contain_text("paid", timeout=SLOW)


async def saved_pdf(download: Any, path: Path) -> None:
    assert PDF_NAME.match(download.suggested_filename), download.suggested_filename
    await download.save_as(path)
    assert path.read_bytes().startswith(b"%PDF")
