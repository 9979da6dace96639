"""Access in a real browser: enforced 2FA with a grace period, the login's 2FA steps,
the lockout preview on IP Restrictions, and what a user blocked by an IP rule sees."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pyotp
import pytest
from playwright.async_api import Page, expect

from tests.support.auth_client import AuthClient, User, away_from_step_boundary, days_pass
from tests.support.browser import shot

pytestmark = pytest.mark.integration


async def log_in(page: Page, base: str, user: User) -> None:
    await page.goto(f"{base}/login")
    await page.get_by_label("Email").fill(user.email)
    await page.get_by_label("Password").fill(user.password)
    await page.get_by_role("button", name="Log in").click()


async def focused(page: Page) -> dict[str, Any]:
    """What has the keyboard focus: its tag, name or text, and the selected part of its value."""
    found: dict[str, Any] = await page.evaluate(
        """() => { const e = document.activeElement;
                   return { tag: e.tagName, name: e.getAttribute("name"), text: e.textContent,
                            start: e.selectionStart ?? null, end: e.selectionEnd ?? null,
                            length: (e.value ?? "").length }; }"""
    )
    return found


async def secret_shown(page: Page) -> str:
    text = (await page.get_by_test_id("totp-secret").inner_text()).strip()
    assert re.fullmatch(r"([A-Z2-7]{4} ){7}[A-Z2-7]{4}", text), text  # 32 characters in groups of four
    return text.replace(" ", "")


async def test_inside_the_grace_a_user_sees_the_deadline_everywhere_and_enrols_from_the_portal(
    portal: Any, page: Page
) -> None:
    async with httpx.AsyncClient(base_url=portal.gateway, timeout=30) as http:
        api = AuthClient(http)
        admin = await api.sign_up()
        member = await api.add_user(admin)
        other = await api.add_user(admin)

    # The administrator gives a week, next to the enforce switch.
    await log_in(page, portal.gateway, admin)
    await page.get_by_test_id("balance").wait_for()
    await page.get_by_role("link", name="Account Configuration").first.click()
    await page.get_by_label("Enforce 2FA via T-OTP authentication mode").check()
    grace = page.get_by_label("Days to set it up")
    await expect(grace).to_have_value("0")
    await grace.fill("31")
    await page.get_by_role("button", name="Save 2FA setting").click()
    await expect(grace).to_have_attribute("aria-invalid", "true")
    await grace.fill("7")
    await page.get_by_role("button", name="Save 2FA setting").click()
    await expect(page.get_by_test_id("security-result")).to_contain_text("have 7 days to set one up")
    await shot(page, "account-2fa-grace")
    await page.reload()
    await expect(page.get_by_label("Days to set it up")).to_have_value("7")

    await page.get_by_role("link", name="Users").click()
    row = page.get_by_role("row").filter(has_text=member.email)
    await expect(row.get_by_role("cell").nth(3)).to_have_text(re.compile(r"^Due by \d{1,2} \w{3} \d{4}$"))
    await page.get_by_role("button", name="Log out").click()

    # The member logs in without a code and sees the date on every page.
    await log_in(page, portal.gateway, member)
    banner = page.get_by_test_id("totp-deadline")
    await expect(banner).to_contain_text(re.compile(r"Set up two-factor authentication by \d{1,2} \w{3} \d{4}"))
    await shot(page, "totp-deadline-banner", document=True)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Invoices").click()
    await expect(page.get_by_role("heading", name="Invoices")).to_be_visible()
    await expect(banner).to_be_visible()

    # …and sets it up now, from the banner.
    await banner.get_by_role("link", name="Set it up now").click()
    await expect(page.get_by_test_id("totp-due")).to_contain_text("by")
    await expect(banner).to_have_count(0)
    await page.get_by_role("button", name="Set up an authenticator app").click()
    await expect(page.get_by_test_id("totp-account")).to_have_text("Acme")
    secret = await secret_shown(page)
    await shot(page, "two-factor-voluntary")
    await away_from_step_boundary()
    await page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="Verify and continue").click()
    await expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_focused()
    await page.get_by_role("button", name="I have saved them — continue").click()
    await expect(page.get_by_test_id("balance")).to_be_visible()
    await expect(banner).to_have_count(0)
    await page.get_by_role("button", name="Log out").click()

    # Eight days on, a user who did not enrol must do it at login; the Users page says so.
    await days_pass(portal.database_urls["auth"], admin.account_id, 8)
    await log_in(page, portal.gateway, other)
    await expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    await page.get_by_role("button", name="Cancel and log out").click()
    await log_in(page, portal.gateway, admin)  # the administrator did not enrol either
    await expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()


async def test_the_login_and_its_2fa_steps_put_the_cursor_where_the_typing_goes(portal: Any, page: Page) -> None:
    async with httpx.AsyncClient(base_url=portal.gateway, timeout=30) as http:
        api = AuthClient(http)
        admin = await api.sign_up()
        await api.enforce(admin)
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=portal.gateway)

    await page.goto(f"{portal.gateway}/login")
    await expect(page.get_by_label("Email")).to_be_focused()
    assert (await focused(page))["name"] == "email"
    await page.keyboard.type(admin.email)  # typing goes straight into the field
    await page.get_by_label("Password").fill(admin.password)
    await page.get_by_role("button", name="Log in").click()

    # Enrolment: who it is for, the secret in fours with Copy, the cursor in the code field.
    await expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    await expect(page.get_by_test_id("totp-for")).to_have_text(f"For {admin.email} in the account Acme.")
    await expect(page.get_by_label("Code from the app")).to_be_focused()
    secret = await secret_shown(page)
    await page.get_by_role("button", name="Copy the secret").click()
    await expect(page.get_by_text("Copied.")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == secret
    await shot(page, "totp-setup-grouped")

    # Cancel goes back to the login; logging in again starts a new enrolment.
    await page.get_by_role("button", name="Cancel and log out").click()
    await expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    await expect(page.get_by_text("Login cancelled.")).to_be_visible()
    await expect(page.get_by_label("Email")).to_be_focused()
    await page.get_by_label("Email").fill(admin.email)
    await page.get_by_label("Password").fill(admin.password)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    secret = await secret_shown(page)

    # A wrong code is selected, so the next one types over it.
    code = page.get_by_label("Code from the app")
    await code.fill("000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    await page.get_by_role("button", name="Verify and continue").click()
    await expect(page.locator('[data-error-for="_form"]')).not_to_be_empty()
    selected = await focused(page)
    assert (selected["name"], selected["start"], selected["end"]) == ("code", 0, 6), selected
    await shot(page, "totp-setup-wrong-code")
    await away_from_step_boundary()
    await page.keyboard.type(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="Verify and continue").click()

    heading = page.get_by_role("heading", name="Save your recovery codes")
    await expect(heading).to_be_focused()
    await expect(heading).to_have_attribute("tabindex", "-1")
    await page.get_by_role("button", name="I have saved them — continue").click()
    await page.get_by_role("button", name="Log out").click()

    # The code step: the cursor in the code field, a wrong code selected.
    await page.get_by_label("Email").fill(admin.email)
    await page.get_by_label("Password").fill(admin.password)
    await page.get_by_role("button", name="Log in").click()
    code = page.get_by_label("Authentication code")
    await expect(code).to_be_focused()
    await page.keyboard.type("12345678")
    await page.get_by_role("button", name="Verify").click()
    await expect(page.locator('[data-error-for="_form"]')).not_to_be_empty()
    selected = await focused(page)
    assert (selected["name"], selected["start"], selected["end"]) == ("code", 0, 8), selected
    await shot(page, "totp-code-wrong")
