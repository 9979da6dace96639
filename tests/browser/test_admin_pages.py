"""The administrator's pages in a real browser: Account Configuration, Users, IP Restrictions, Audit log."""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx
import pyotp
import pytest
from playwright.async_api import Page, expect

from tests.support.auth_client import AuthClient, User, decode_qr, new_email
from tests.support.browser import shot, sign_up
from tests.support.harness import signed_headers, wait_for

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"


async def access_token(page: Page) -> str:
    """The browser's session, for checks and repairs through the API."""
    cookies = {cookie["name"]: cookie["value"] for cookie in await page.context.cookies()}
    return cookies["tg_access"]


async def test_enforcing_2fa_makes_the_next_login_set_up_an_authenticator(portal: Any, page: Page) -> None:
    email = new_email()
    await sign_up(page, portal.gateway, email, PASSWORD)
    await page.get_by_role("link", name="Account Configuration").first.click()
    await expect(page.get_by_role("heading", name="Account Configuration")).to_be_visible()
    enforce = page.get_by_label("Enforce 2FA via T-OTP authentication mode")
    await expect(enforce).not_to_be_checked()
    await expect(page.get_by_text("must do so at their next login")).to_be_visible()
    await shot(page, "account", document=True)

    await enforce.check()
    await page.get_by_role("button", name="Save 2FA setting").click()
    await expect(page.get_by_test_id("security-result")).to_contain_text("2FA is enforced")
    await page.reload()
    await expect(page.get_by_label("Enforce 2FA via T-OTP authentication mode")).to_be_checked()

    await page.get_by_role("button", name="Log out").click()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    secret = (await page.get_by_test_id("totp-secret").inner_text()).strip()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret  # 160 bits in base32
    qr = page.get_by_role("img", name="QR code to scan with your authenticator app")
    await expect(qr).to_be_visible()
    src = await qr.get_attribute("src")
    assert src is not None and src.startswith("data:image/svg+xml;base64,")
    uri = decode_qr(base64.b64decode(src.split(",", 1)[1]).decode())
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri, uri
    await shot(page, "totp-setup", document=True)

    await page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="Verify and continue").click()
    await expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
    await expect(page.get_by_role("list", name="Recovery codes").get_by_role("listitem")).not_to_have_count(0)
    await shot(page, "recovery-codes")
    await page.get_by_role("button", name="I have saved them — continue").click()
    await expect(page.get_by_test_id("balance")).to_have_text("₹0.00")

    # The audit log tells the story: enforced, then the authenticator set up.
    await page.get_by_role("link", name="Audit log").click()
    await expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    rows = page.get_by_role("row")
    await expect(rows.filter(has_text="Enforced 2FA").filter(has_text=email)).to_have_count(1)
    await expect(rows.filter(has_text="Set up 2FA").filter(has_text="127.0.0.1")).to_have_count(1)
    await expect(rows.filter(has_text="Logged out")).to_have_count(1)
    await shot(page, "audit-log", document=True)


async def test_ip_rules_are_added_switched_in_place_deleted_and_a_lockout_needs_confirming(
    portal: Any, page: Page
) -> None:
    await sign_up(page, portal.gateway, new_email(), PASSWORD)
    await page.get_by_role("link", name="IP Restrictions").click()
    await expect(page.get_by_test_id("your-ip")).to_have_text("127.0.0.1")
    await expect(page.get_by_text("No rules: every user may connect from any address.")).to_be_visible()

    await expect(page.get_by_label("Applies to")).to_have_value("")  # All users
    await page.get_by_label("Allowed IP start address").fill("127.0.0.1")
    await page.get_by_label("Allowed IP end address").fill("127.0.0.10")
    await page.get_by_label("Description (optional)").fill("This machine")
    await page.get_by_role("button", name="Add rule").click()
    await expect(page.get_by_test_id("ip-result")).to_contain_text("is saved")
    rule = page.get_by_role("row").filter(has_text="This machine")
    cells = rule.get_by_role("cell")
    await expect(cells).to_have_text(
        ["All users", "127.0.0.1", "127.0.0.10", "This machine", "Enabled", "DisableDelete"]
    )
    await shot(page, "ip-restrictions", document=True)

    await rule.get_by_role("button", name="Disable").click()
    await expect(page.get_by_test_id("ip-result")).to_contain_text("is disabled")
    await expect(cells.nth(4)).to_have_text("Disabled")
    await rule.get_by_role("button", name="Enable").click()
    await expect(page.get_by_test_id("ip-result")).to_contain_text("is enabled")
    await expect(cells.nth(4)).to_have_text("Enabled")
    await expect(rule.get_by_role("button", name="Disable")).to_be_visible()
    await rule.get_by_role("button", name="Delete").click()
    await page.get_by_test_id("lockout-warning").get_by_role("button", name="Yes, delete").click()
    await expect(page.get_by_test_id("ip-result")).to_contain_text("is deleted")
    await expect(page.get_by_text("No rules: every user may connect from any address.")).to_be_visible()

    # A rule that leaves 127.0.0.1 out would lock this administrator out: a warning, nothing saved yet.
    await page.get_by_label("Allowed IP start address").fill("203.0.113.0")
    await page.get_by_label("Allowed IP end address").fill("203.0.113.255")
    await page.get_by_label("Description (optional)").fill("Head office")
    await page.get_by_role("button", name="Add rule").click()
    warning = page.get_by_test_id("lockout-warning")
    await expect(warning).to_contain_text("This would lock you out")
    await expect(warning).to_contain_text("127.0.0.1")
    await expect(page.get_by_text("No rules: every user may connect from any address.")).to_be_visible()
    await shot(page, "ip-restrictions-lockout-warning")

    await warning.get_by_role("button", name="I understand, save anyway").click()
    await expect(warning).to_be_hidden()
    await expect(page.get_by_role("row").filter(has_text="Head office")).to_contain_text("203.0.113.255")

    # The rule holds: the gateway soon refuses this address. Undo it from inside the range, straight at auth.
    token = await access_token(page)
    bearer = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=portal.gateway, headers=bearer) as gateway:

        async def gateway_answers(status: int) -> bool:
            return (await gateway.get("/api/account/ip-restrictions")).status_code == status

        await wait_for(lambda: gateway_answers(403))
        async with httpx.AsyncClient(base_url=portal.urls["auth"]) as auth:
            path = "/api/account/ip-restrictions"
            signed = signed_headers("GET", path, client_ip="203.0.113.7", access_token=token)
            listed = await auth.get(path, headers=signed)
            (saved,) = listed.json()["items"]
            assert saved["start_ip"] == "203.0.113.0" and saved["enabled"] is True, saved
            path = f"/api/account/ip-restrictions/{saved['id']}"
            signed = signed_headers("DELETE", path, client_ip="203.0.113.7", access_token=token)
            deleted = await auth.delete(path, headers=signed)
            assert deleted.status_code == 204, deleted.text
        await wait_for(lambda: gateway_answers(200))
    await page.reload()
    await expect(page.get_by_text("No rules: every user may connect from any address.")).to_be_visible()


async def test_an_administrator_adds_a_user_resets_their_2fa_and_deactivates_them(portal: Any, page: Page) -> None:
    await sign_up(page, portal.gateway, new_email(), PASSWORD)
    await page.get_by_role("link", name="Users").click()
    await expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    you = page.get_by_role("row").filter(has_text="You")
    await expect(you).to_contain_text("Administrator")

    member = User(new_email(), password=PASSWORD)
    await page.get_by_label("Email").fill(member.email)
    await page.get_by_label("Initial password").fill(member.password)
    await page.get_by_label("Role").select_option("user")
    await page.get_by_role("button", name="Add user").click()
    await expect(page.get_by_test_id("users-result")).to_contain_text(f"{member.email} is added")
    row = page.get_by_role("row").filter(has_text=member.email)
    status, two_factor = row.get_by_role("cell").nth(2), row.get_by_role("cell").nth(3)
    await expect(status).to_have_text("Active")
    await expect(two_factor).to_have_text("Not set up")

    # The new user sets up an authenticator on their own (through the API, as their phone would).
    async with httpx.AsyncClient(base_url=portal.gateway) as client:
        them = AuthClient(client)
        await them.log_in(member)
        setup = await them.call("POST", "/api/auth/totp/setup", member, json={})
        assert setup.status_code == 200, setup.text
        verified = await them.verify(setup.json()["challenge"], pyotp.TOTP(setup.json()["secret"]).now())
        assert verified.status_code == 200, verified.text
    await page.reload()
    await expect(two_factor).to_have_text("On")
    await shot(page, "users", document=True)

    await row.get_by_role("button", name="Reset 2FA").click()
    await expect(row).to_contain_text("Reset the 2FA of")
    await row.get_by_role("button", name="Yes, reset 2FA").click()
    await expect(page.get_by_test_id("users-result")).to_contain_text("is reset")
    await expect(two_factor).to_have_text("Not set up")
    await expect(row.get_by_role("button", name="Reset 2FA")).to_have_count(0)

    # Cancel first: nothing happens; then deactivate for real.
    await row.get_by_role("button", name="Deactivate").click()
    await row.get_by_role("button", name="Cancel").click()
    await expect(row.get_by_role("button", name="Deactivate")).to_be_visible()
    await expect(status).to_have_text("Active")
    await row.get_by_role("button", name="Deactivate").click()
    await row.get_by_role("button", name="Yes, deactivate").click()
    await expect(page.get_by_test_id("users-result")).to_contain_text("is deactivated")
    await expect(status).to_have_text("Deactivated")
    await expect(row.get_by_role("button")).to_have_count(0)
    async with httpx.AsyncClient(base_url=portal.gateway) as client:
        assert (await AuthClient(client).login(member)).status_code == 401


async def test_a_threshold_above_the_balance_shows_the_add_credits_message(portal: Any, page: Page) -> None:
    await sign_up(page, portal.gateway, new_email(), PASSWORD)
    await expect(page.get_by_test_id("low-balance")).to_have_count(0)
    await page.get_by_role("link", name="Account Configuration").first.click()
    threshold = page.get_by_label("Low-balance threshold (INR)")
    await expect(threshold).to_have_value("0.00")

    await threshold.fill("12.345")
    await page.get_by_role("button", name="Save threshold").click()
    await expect(threshold).to_have_attribute("aria-invalid", "true")

    await threshold.fill("500")
    await page.get_by_role("button", name="Save threshold").click()
    await expect(page.get_by_test_id("threshold-result")).to_contain_text("Threshold set to ₹500.00")
    await expect(threshold).not_to_have_attribute("aria-invalid", "true")

    await page.get_by_role("link", name="Dashboard").click()
    message = page.get_by_test_id("low-balance")
    await expect(message).to_have_text("Your balance (₹0.00) is below the threshold (₹500.00) — Add Credits")
    await expect(message.get_by_role("link", name="Add Credits")).to_have_attribute("href", "/billing/add-credits")


async def test_the_billing_profile_shows_an_invalid_gstin_next_to_its_field(portal: Any, page: Page) -> None:
    await sign_up(page, portal.gateway, new_email(), PASSWORD)
    await page.goto(portal.gateway + "/account")
    profile = page.get_by_role("region", name="Billing profile")
    await expect(profile).to_contain_text("The billing profile is not set yet.")
    await profile.get_by_label("Legal name").fill("Acme Widgets Private Limited")
    await profile.get_by_label("Address").fill("12 Marine Drive, Mumbai 400020")
    await profile.get_by_label("State").select_option("Maharashtra")
    gstin = profile.get_by_label("GSTIN (optional)")
    await gstin.fill("27AAPFU0939F1ZX")  # a wrong check character
    await profile.get_by_role("button", name="Save billing profile").click()
    await expect(gstin).to_have_attribute("aria-invalid", "true")
    await expect(gstin).to_be_focused()
    error = profile.locator('[data-error-for="gstin"]')
    await expect(error).to_have_text("Has a wrong check character")  # the API's fragment, capitalised
    await expect(profile.get_by_test_id("profile-result")).to_be_empty()
    await shot(page, "account-invalid-gstin")

    await gstin.fill("27AAPFU0939F1ZV")
    await profile.get_by_role("button", name="Save billing profile").click()
    await expect(profile.get_by_test_id("profile-result")).to_contain_text("Billing profile saved")
    await expect(error).to_be_empty()
    await page.reload()
    profile = page.get_by_role("region", name="Billing profile")
    await expect(profile.get_by_label("State")).to_have_value("Maharashtra")
    await expect(profile.get_by_label("GSTIN (optional)")).to_have_value("27AAPFU0939F1ZV")


async def test_the_audit_log_pages_through_older_entries(portal: Any, page: Page) -> None:
    await sign_up(page, portal.gateway, new_email(), PASSWORD)
    # 12 rules added and deleted through the API: 24 entries after "Created the account" and "Logged in".
    async with httpx.AsyncClient(
        base_url=portal.gateway, headers={"Authorization": f"Bearer {await access_token(page)}"}
    ) as api:
        for n in range(12):
            created = await api.post(
                "/api/account/ip-restrictions", json={"start_ip": "127.0.0.1", "end_ip": f"127.0.0.{n + 1}"}
            )
            assert created.status_code == 201, created.text
            assert (await api.delete(f"/api/account/ip-restrictions/{created.json()['id']}")).status_code == 204
    await page.get_by_role("link", name="Audit log").click()
    body = page.locator("tbody tr")
    await expect(body).to_have_count(25)
    await expect(body.first).to_contain_text("Deleted an IP rule")
    await expect(page.get_by_text("Page 1 of 2")).to_be_visible()
    await expect(page.get_by_role("button", name="Previous")).to_be_disabled()
    await page.get_by_role("button", name="Next").click()
    await expect(page.get_by_text("Page 2 of 2")).to_be_visible()
    await expect(body).to_have_count(1)
    await expect(body.first).to_contain_text("Created the account")


async def test_the_admin_pages_read_on_a_phone_width_screen(portal: Any, page: Page) -> None:
    await page.set_viewport_size({"width": 375, "height": 740})
    await sign_up(page, portal.gateway, new_email(), PASSWORD)
    for path, heading in [
        ("/account", "Account Configuration"),
        ("/users", "Users"),
        ("/ip-restrictions", "IP Restrictions"),
        ("/audit-log", "Audit log"),
    ]:
        await page.goto(portal.gateway + path)
        await expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path} scrolls sideways: {width}px"
