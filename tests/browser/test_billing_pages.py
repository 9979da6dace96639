"""Billing in the portal, as issue 18 left it: an order needs the billing profile, paying an order charges
only what the credits lack, offline top-ups show where to pay, the low-balance message on every page, and
when the credits run out."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.support.auth_client import AuthClient, User, new_email
from tests.support.billing import publish_decision
from tests.support.browser import shot, sign_up
from tests.support.harness import wait_for
from tests.support.money_pages import PROFILE, SUCCEEDING_CARD, pay_online, place_order
from tollgate_shared.events.models import OfflinePaymentDecided

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"


async def session_of(page: Page, email: str) -> User:
    """The browser's user, for steps taken through the API (its session cookie as a Bearer token)."""
    cookies = {cookie["name"]: cookie["value"] for cookie in await page.context.cookies()}
    return User(email, PASSWORD, access_token=cookies["tg_access"])


async def log_in(page: Page, base: str, email: str, password: str = PASSWORD) -> None:
    await page.goto(f"{base}/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()
    await page.get_by_test_id("balance").wait_for()


async def test_an_order_needs_the_billing_profile_and_the_portal_leads_there_first(portal: Any, page: Page) -> None:
    admin_email = new_email()
    await sign_up(page, portal.gateway, admin_email, PASSWORD)
    admin = await session_of(page, admin_email)
    async with httpx.AsyncClient(base_url=portal.gateway, timeout=10) as http:
        member = await AuthClient(http).add_user(admin)

    # A user who is not an administrator is told whom to ask, and gets no form that would fail.
    await page.get_by_role("button", name="Log out").click()
    await log_in(page, portal.gateway, member.email, member.password)
    await page.get_by_role("link", name="Orders", exact=True).click()
    needed = page.get_by_test_id("profile-needed")
    await expect(needed).to_contain_text("Ask an administrator of your account")
    await expect(needed.get_by_role("link")).to_have_count(0)
    await expect(page.get_by_role("button", name="Place order")).to_have_count(0)
    await shot(page, "order-needs-profile-user")

    # The administrator is led to the profile form, and back to a form that places the order.
    await page.get_by_role("button", name="Log out").click()
    await log_in(page, portal.gateway, admin_email)
    await page.get_by_role("link", name="Orders", exact=True).click()
    await expect(needed).to_contain_text("Add your billing profile first")
    await expect(page.get_by_role("button", name="Place order")).to_have_count(0)
    await shot(page, "order-needs-profile")
    await needed.get_by_role("link", name="Add the billing profile").click()
    await expect(page.get_by_role("heading", name="Account Configuration")).to_be_visible()
    profile = page.get_by_role("region", name="Billing profile")
    await expect(profile.get_by_label("Legal name")).to_be_focused()
    await profile.get_by_label("Legal name").fill(PROFILE["legal_name"])
    await profile.get_by_label("Address").fill(PROFILE["address"])
    await profile.get_by_label("State").select_option(PROFILE["state"])
    await profile.get_by_role("button", name="Save billing profile").click()
    await expect(page.get_by_test_id("profile-result")).to_contain_text("Billing profile saved")

    await page.get_by_role("link", name="Orders", exact=True).click()
    # The Orders page is drawn (its form shown) before the message is judged: it stays in the page, hidden.
    await expect(page.get_by_role("button", name="Place order")).to_be_visible()
    await expect(needed).to_be_hidden()
    await page.get_by_label("Description").fill("OV SSL certificate, 1 year")
    await page.get_by_label("Unit price").fill("1000")
    await page.get_by_role("button", name="Place order").click()
    await expect(page.get_by_role("heading", name="View Order")).to_be_visible()
    await expect(page.get_by_text(PROFILE["legal_name"])).to_be_visible()  # the invoice's buyer


async def test_paying_an_order_online_charges_only_what_the_credits_lack(portal: Any, page: Page) -> None:
    await sign_up(page, portal.gateway, new_email(), PASSWORD)
    await pay_online(page, portal.gateway, "500", SUCCEEDING_CARD)
    order_id = await place_order(page, portal.gateway, "OV SSL certificate, 1 year", "1", "1000")  # 1,180.00
    await expect(page.get_by_test_id("order-status")).to_have_text("awaiting payment")
    await expect(page.get_by_test_id("pay-online-share")).to_have_text(
        "Pay ₹680.00 online — your credits cover ₹500.00."
    )
    from_credits = page.get_by_role("button", name="Pay from credits")
    await expect(from_credits).to_be_disabled()
    await expect(from_credits).to_have_accessible_description(
        "Your balance (₹500.00) does not cover the total (₹1,180.00)."
    )
    await shot(page, "order-pay-shortfall")
    await page.get_by_role("button", name="Pay ₹680.00 online").click()
    await page.wait_for_url("**/sandbox/checkout/**")
    await expect(page.get_by_role("button", name="Pay INR 680.00")).to_be_visible()  # the shortfall only
    await page.get_by_label("Card number").fill(SUCCEEDING_CARD)
    await page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    await page.wait_for_url(re.compile(rf"/certificates/orders/{order_id}\?payment_id="))
    await expect(page.get_by_test_id("order-status")).to_have_text("paid")
    await page.goto(f"{portal.gateway}/billing/add-credits")
    await expect(page.get_by_test_id("balance")).to_have_text("₹0.00")


async def test_a_shortfall_below_the_smallest_online_payment_says_what_stays_as_credits(
    portal: Any, page: Page
) -> None:
    await sign_up(page, portal.gateway, new_email(), PASSWORD)
    await pay_online(page, portal.gateway, "1100", SUCCEEDING_CARD)
    await place_order(page, portal.gateway, "OV SSL certificate, 1 year", "1", "1000")  # 1,180.00: 80.00 short
    await expect(page.get_by_test_id("pay-online-share")).to_contain_text(
        "Pay ₹100.00 online — your credits cover ₹1,100.00."
    )
    await expect(page.get_by_test_id("pay-online-share")).to_contain_text("₹20.00 left over stays as credits")
    await expect(page.get_by_role("button", name="Pay ₹100.00 online")).to_be_visible()


@pytest.fixture
async def small_online_payments(start_system: Any) -> Any:
    """The whole system with online payments of at most 1,000.00."""
    return await start_system(
        services=("auth", "billing", "invoicing"), billing_settings={"online_payment_max": "1000.00"}
    )


async def test_a_shortfall_beyond_the_largest_online_payment_is_explained(
    small_online_payments: Any, page: Page
) -> None:
    base = small_online_payments.gateway
    await sign_up(page, base, new_email(), PASSWORD)
    await place_order(page, base, "EV SSL certificate, 1 year", "1", "5000")  # 5,900.00
    await page.get_by_role("button", name="Pay ₹5,900.00 online").click()
    refusal = page.get_by_role("alert").filter(has_text="more than the largest online payment")
    await expect(refusal).to_contain_text("Paying online would charge 5900.00")
    await expect(refusal).to_contain_text("the largest online payment, 1000.00")
    await expect(refusal.get_by_role("link", name="Add credits")).to_be_visible()
    await shot(page, "order-pay-beyond-online-maximum")


BANK = {
    "bank_account_name": "Tollgate Technologies Private Limited",
    "bank_account_number": "50200012345678",
    "bank_ifsc": "HDFC0001234",
    "bank_name": "HDFC Bank",
}


@pytest.fixture
async def bank_office(start_system: Any) -> Any:
    """The whole system with the platform's bank details set; finance decisions published as the test broker's
    user (guest) count."""
    return await start_system(
        services=("auth", "billing", "invoicing"), billing_settings={**BANK, "finance_broker_user": "guest"}
    )


def india_today() -> date:
    return (datetime.now(UTC) + timedelta(hours=5, minutes=30)).date()


async def test_an_offline_top_up_shows_where_to_pay_refuses_a_future_date_and_a_rejection_reaches_the_dashboard(
    bank_office: Any, page: Page, amqp_url: str
) -> None:
    base = bank_office.gateway
    await sign_up(page, base, new_email(), PASSWORD)
    await page.goto(f"{base}/billing/add-credits?tab=offline")
    offline = page.get_by_role("tabpanel", name="Offline")
    bank = offline.get_by_role("region", name="Pay into this account")
    for shown in BANK.values():
        await expect(bank).to_contain_text(shown)
    await shot(page, "offline-bank-details")

    await offline.get_by_label("Amount").fill("2500")
    await offline.get_by_label("Reference (UTR or cheque number)").fill("UTR77001")
    await offline.get_by_label("Paid on").fill((india_today() + timedelta(days=1)).isoformat())
    await offline.get_by_role("button", name="Make Payment").click()
    paid_on = offline.get_by_label("Paid on")
    await expect(paid_on).to_have_attribute("aria-invalid", "true")
    await expect(offline.get_by_text("cannot be in the future")).to_be_visible()
    await expect(page.get_by_test_id("offline-review")).to_be_hidden()  # not on to the review step
    await shot(page, "offline-future-date")
    await paid_on.fill(india_today().isoformat())
    await offline.get_by_role("button", name="Make Payment").click()
    await offline.get_by_role("button", name="Submit Offline Payment").click()
    await expect(offline.get_by_text("Thank you.")).to_be_visible()

    listed = await page.evaluate("fetch('/api/billing/offline-payments').then((r) => r.json())")
    decided = OfflinePaymentDecided(
        offline_payment_id=listed["items"][0]["id"],
        decision="reject",
        reason="No transfer with this UTR reached our account",
        decided_by="finance-desk",
    )
    await publish_decision(amqp_url, decided, user_id="guest")

    async def rejected() -> bool:
        answer = await page.evaluate("fetch('/api/billing/offline-payments').then((r) => r.json())")
        return bool(answer["items"][0]["status"] == "rejected")

    await wait_for(rejected)
    await page.get_by_role("link", name="Dashboard").click()
    rejections = page.get_by_test_id("rejections")
    await expect(rejections).to_contain_text("₹2,500.00")
    await expect(rejections).to_contain_text("UTR77001")
    await expect(rejections).to_contain_text("No transfer with this UTR reached our account")
    await shot(page, "dashboard-offline-rejected")
    await rejections.get_by_role("button", name="Dismiss").click()
    await expect(rejections).to_have_count(0)
    await page.reload()  # dismissed stays dismissed
    await expect(page.get_by_test_id("balance")).to_be_visible()
    await expect(page.get_by_test_id("rejections")).to_have_count(0)


async def test_the_low_balance_message_is_on_every_page_and_follows_the_balance_and_threshold(
    portal: Any, page: Page
) -> None:
    await sign_up(page, portal.gateway, new_email(), PASSWORD)
    await pay_online(page, portal.gateway, "1000", SUCCEEDING_CARD)
    message = page.get_by_test_id("low-balance")
    await expect(message).to_have_count(0)

    # Raised above the balance on Account Configuration: the message appears there at once.
    await page.goto(f"{portal.gateway}/account")
    await page.get_by_label("Low-balance threshold (INR)").fill("2000")
    await page.get_by_role("button", name="Save threshold").click()
    await expect(message).to_have_text("Your balance (₹1,000.00) is below the threshold (₹2,000.00) — Add Credits")
    await shot(page, "low-balance-account")
    for path, heading in (("/invoices", "Invoices"), ("/certificates/orders", "Orders"), ("/dashboard", "Welcome")):
        await page.goto(portal.gateway + path)
        await expect(page.get_by_role("heading", level=2, name=re.compile(heading))).to_be_visible()
        await expect(message).to_contain_text("₹1,000.00")
        await expect(message.get_by_role("link", name="Add Credits")).to_have_attribute("href", "/billing/add-credits")
    await shot(page, "low-balance-dashboard")

    # An order paid from credits lowers the balance: the message says so on the next page.
    await place_order(page, portal.gateway, "DV SSL certificate, 1 year", "1", "500")  # 590.00, paid
    await expect(page.get_by_test_id("order-status")).to_have_text("paid")
    await expect(message).to_contain_text("Your balance (₹410.00)")

    # Lowered below the balance: gone, on this page and the next.
    await page.goto(f"{portal.gateway}/account")
    await page.get_by_label("Low-balance threshold (INR)").fill("100")
    await page.get_by_role("button", name="Save threshold").click()
    await expect(page.get_by_test_id("threshold-result")).to_contain_text("Threshold set to ₹100.00")
    await expect(message).to_have_count(0)
    await page.get_by_role("link", name="Orders", exact=True).click()
    await expect(page.get_by_role("heading", name="Orders", exact=True)).to_be_visible()
    await expect(message).to_have_count(0)


async def test_the_dashboard_charts_the_balance_and_says_when_the_credits_run_out(portal: Any, page: Page) -> None:
    await sign_up(page, portal.gateway, new_email(), PASSWORD)
    await expect(page.get_by_test_id("runs-out")).to_contain_text("Nothing was spent in the last 30 days")
    await pay_online(page, portal.gateway, "5000", SUCCEEDING_CARD)
    for description in ("OV SSL certificate, 1 year", "Wildcard certificate, 1 year"):
        await place_order(page, portal.gateway, description, "1", "1000")  # 1,180.00 each, paid from credits
        await expect(page.get_by_test_id("order-status")).to_have_text("paid")

    await page.get_by_role("link", name="Dashboard").click()
    # 2,360.00 in 30 days is 78.67 a day; 2,640.00 lasts 2,640 x 30 // 2,360 = 33 whole days.
    runs_out = page.get_by_test_id("runs-out")
    await expect(runs_out).to_contain_text("₹78.67 a day")
    await expect(runs_out).to_contain_text("33 more days")
    await expect(runs_out).to_have_attribute("data-runs-out-on", (india_today() + timedelta(days=33)).isoformat())
    chart = page.get_by_test_id("balance-chart")
    await expect(chart.locator("canvas")).to_be_visible()
    summary = page.get_by_test_id("balance-summary")
    await expect(summary).to_contain_text("Balance over the last 90 days: ₹0.00 on")
    await expect(summary).to_contain_text("₹2,640.00 today")
    await expect(summary).to_contain_text("they run out on")
    await shot(page, "dashboard-balance-chart", document=True)

    # On a phone the chart takes the screen's width, and the page does not scroll sideways.
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.reload()
    await expect(chart.locator("canvas")).to_be_visible()
    box = await chart.locator("canvas").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await shot(page, "dashboard-balance-chart-phone")
