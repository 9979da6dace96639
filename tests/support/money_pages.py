"""What the browser tests of the money pages share: paying online on the sandbox's page, placing an order and
the billing profile it needs, in the portal."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.support.browser import shot

SUCCEEDING_CARD = "4242424242424242"  # the sandbox provider's card that pays
DECLINED_CARD = "4000000000000002"
SLOW = 30_000  # ms: documents come from invoicing after billing's event crosses the broker (slower on a busy CI)

PROFILE = {
    "legal_name": "Acme Widgets Private Limited",
    "address": "12 MG Road, Bengaluru 560001",
    "state": "Karnataka",
}


async def add_billing_profile(page: Page, base: str) -> None:
    """Account Configuration > Billing profile, as the administrator does before the first order."""
    await page.goto(f"{base}/account")
    profile = page.get_by_role("region", name="Billing profile")
    await profile.get_by_label("Legal name").fill(PROFILE["legal_name"])
    await profile.get_by_label("Address").fill(PROFILE["address"])
    await profile.get_by_label("State").select_option(PROFILE["state"])
    await profile.get_by_role("button", name="Save billing profile").click()
    await expect(page.get_by_test_id("profile-result")).to_contain_text("Billing profile saved")


async def pay_online(page: Page, base: str, amount: str, card: str, *, screenshot: bool = False) -> str:
    """Add Credits > Online > Pay, the sandbox's checkout with `card`, and back; the payment id from the address."""
    await page.goto(f"{base}/billing/add-credits")
    online = page.get_by_role("tabpanel", name="Online")
    await online.get_by_label("Amount").fill(amount)
    if screenshot:
        await shot(page, "add-credits", document=True)
    await online.get_by_role("button", name="Pay", exact=True).click()
    await page.wait_for_url("**/sandbox/checkout/**")
    await expect(page.get_by_role("heading", name="Sandbox checkout")).to_be_visible()
    if screenshot:
        await shot(page, "sandbox-checkout", document=True)
    await page.get_by_label("Card number").fill(card)
    await page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    await page.wait_for_url(re.compile(r"/billing/add-credits\?payment_id="))
    payment_id = page.url.split("payment_id=")[1].split("&")[0]
    await expect(page.get_by_test_id("payment-id")).to_have_text(payment_id)
    return payment_id


async def place_order(page: Page, base: str, description: str, quantity: str, unit_price: str) -> str:
    """Orders > New order (the billing profile set first if it is not); lands on View Order and answers its id."""
    await page.goto(f"{base}/certificates/orders")
    await expect(page.get_by_role("heading", name="New order")).to_be_visible()
    if await page.get_by_test_id("profile-needed").count():
        await add_billing_profile(page, base)
        await page.goto(f"{base}/certificates/orders")
    await page.get_by_label("Description").fill(description)
    await page.get_by_label("Quantity").fill(quantity)
    await page.get_by_label("Unit price").fill(unit_price)
    await page.get_by_role("button", name="Place order").click()
    await expect(page.get_by_role("heading", name="View Order")).to_be_visible()
    return page.url.rsplit("/", 1)[1].split("?")[0]
