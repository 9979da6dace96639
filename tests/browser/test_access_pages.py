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
from tests.support.harness import wait_for

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
    """The secret as shown: 32 characters in eight groups of four, set apart by the style sheet alone."""
    shown = page.get_by_test_id("totp-secret")
    groups = await shown.locator("span").all_inner_texts()
    assert len(groups) == 8 and all(re.fullmatch(r"[A-Z2-7]{4}", group) for group in groups), groups
    assert await shown.locator("span").nth(1).evaluate("(span) => getComputedStyle(span).marginLeft") != "0px"
    text = (await shown.inner_text()).strip()
    assert text == "".join(groups), text  # selecting it by hand copies no spaces
    return text


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
    await expect(page.locator("#view").get_by_text("Login cancelled.")).to_be_visible()
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


@pytest.fixture
async def proxied(start_system: Any) -> Any:
    """The whole system with the gateway trusting loopback's X-Forwarded-For: API clients choose their address,
    the browser (which sends none) is 127.0.0.1."""
    return await start_system(
        services=("auth", "billing", "invoicing"), gateway_settings={"trusted_proxies": "127.0.0.1/32"}
    )


async def test_ip_rule_changes_show_whom_they_would_lock_out_before_they_are_made(proxied: Any, page: Page) -> None:
    async with httpx.AsyncClient(base_url=proxied.gateway, timeout=30) as http:
        admin = await AuthClient(http).sign_up()
        remote = await AuthClient(http).add_user(admin)
        await AuthClient(http, client_ip="198.51.100.20").log_in(remote)
    await log_in(page, proxied.gateway, admin)
    await page.get_by_test_id("balance").wait_for()
    await page.get_by_role("link", name="IP Restrictions").click()

    # Adding: the preview names the user it would lock out; Cancel leaves everything as it was.
    await page.get_by_label("Allowed IP start address").fill("127.0.0.1")
    await page.get_by_label("Allowed IP end address").fill("127.0.0.10")
    await page.get_by_role("button", name="Add rule").click()
    warning = page.get_by_test_id("lockout-warning")
    await expect(warning).to_be_focused()
    await expect(warning.get_by_test_id("locked-out")).to_have_text(
        re.compile(rf"^{re.escape(remote.email)} \(last seen from 198\.51\.100\.20 on \d{{1,2}} \w{{3}} \d{{4}}\)$")
    )
    await expect(warning).to_contain_text("This would lock out 1 user")
    await expect(warning).not_to_contain_text("This would lock you out")
    await shot(page, "ip-restrictions-lockout-preview", document=True)
    await warning.get_by_role("button", name="Cancel").click()
    await expect(warning).to_have_count(0)
    await expect(page.get_by_text("No rules: every user may connect from any address.")).to_be_visible()

    await page.get_by_role("button", name="Add rule").click()
    await page.get_by_test_id("lockout-warning").get_by_role("button", name="I understand, save anyway").click()
    await expect(page.get_by_test_id("ip-result")).to_contain_text("is saved")
    rule = page.get_by_role("row").filter(has_text="127.0.0.10")

    # Disabling locks nobody out: done at once. Enabling again asks, with the preview.
    await rule.get_by_role("button", name="Disable").click()
    await expect(page.get_by_test_id("ip-result")).to_contain_text("is disabled")
    await rule.get_by_role("button", name="Enable").click()
    await expect(warning).to_contain_text(remote.email)
    await warning.get_by_role("button", name="I understand, enable anyway").click()
    await expect(page.get_by_test_id("ip-result")).to_contain_text("is enabled")

    # Deleting always asks; here nobody would be locked out.
    await rule.get_by_role("button", name="Delete").click()
    await expect(warning).to_contain_text("Nobody who logged in during the last 30 days would be locked out.")
    await shot(page, "ip-restrictions-delete-preview")
    await warning.get_by_role("button", name="Yes, delete").click()
    await expect(page.get_by_test_id("ip-result")).to_contain_text("is deleted")

    # A rule leaving the administrator's own address out: both in one confirmation, the administrator marked.
    await page.get_by_label("Allowed IP start address").fill("203.0.113.0")
    await page.get_by_label("Allowed IP end address").fill("203.0.113.255")
    await page.get_by_role("button", name="Add rule").click()
    await expect(warning).to_contain_text("This would lock out 2 users")
    await expect(warning).to_contain_text(f"{admin.email} — you")
    await expect(warning).to_contain_text("This would lock you out.")
    await expect(warning).to_contain_text("Your current address 127.0.0.1")
    await warning.get_by_role("button", name="Cancel").click()
    await expect(page.get_by_text("No rules: every user may connect from any address.")).to_be_visible()

    # Invalid addresses are named by the preview, next to their fields, before anything is saved.
    await page.get_by_label("Allowed IP start address").fill("10.0.0.300")
    await page.get_by_role("button", name="Add rule").click()
    await expect(page.get_by_label("Allowed IP start address")).to_have_attribute("aria-invalid", "true")


async def test_a_user_blocked_by_an_ip_rule_is_told_why_mid_session_after_a_reload_and_at_login(
    proxied: Any, page: Page
) -> None:
    async with httpx.AsyncClient(base_url=proxied.gateway, timeout=30) as http:
        office = AuthClient(http, client_ip="203.0.113.10")
        admin = await office.sign_up()
        member = await office.add_user(admin)
        await log_in(page, proxied.gateway, member)
        await page.get_by_test_id("balance").wait_for()

        # The administrator restricts the member to the office; the browser is at 127.0.0.1.
        rule = {"user_id": member.id, "start_ip": "203.0.113.0", "end_ip": "203.0.113.255"}
        assert (await office.call("POST", "/api/account/ip-restrictions", admin, json=rule)).status_code == 201
        cookies = {cookie["name"]: cookie["value"] for cookie in await page.context.cookies()}
        member.access_token = cookies["tg_access"]

        async def refused() -> bool:
            return (await http.get("/api/auth/me", headers=member.auth)).status_code == 403

        await wait_for(refused)

    # Mid-session: the next page says what happened, not "Something went wrong".
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Invoices").click()
    heading = page.get_by_role("heading", name="Access from this address is not allowed")
    await expect(heading).to_be_visible()
    await expect(heading).to_be_focused()
    blocked = page.get_by_test_id("ip-blocked")
    await expect(page.get_by_test_id("blocked-ip")).to_have_text("127.0.0.1")
    await expect(blocked).to_contain_text("The IP restrictions set by the administrators of Acme do not allow it.")
    await expect(blocked).to_contain_text("Ask an administrator of Acme to allow this address")
    await expect(page.get_by_text("Something went wrong")).to_have_count(0)
    await shot(page, "ip-blocked-mid-session", document=True)

    # A reload stays on that page instead of dropping to the login.
    await page.reload()
    await expect(page.get_by_role("heading", name="Access from this address is not allowed")).to_be_visible()
    await expect(page.get_by_test_id("blocked-ip")).to_have_text("127.0.0.1")
    assert "/login" not in page.url
    await shot(page, "ip-blocked-after-reload")

    # At login, the same words.
    await page.context.clear_cookies()
    await log_in(page, proxied.gateway, member)
    await expect(page.get_by_role("heading", name="Access from this address is not allowed")).to_be_focused()
    await expect(page.get_by_test_id("blocked-ip")).to_have_text("127.0.0.1")
    await expect(page.get_by_test_id("ip-blocked")).to_contain_text("Ask an administrator of your account")
    await shot(page, "ip-blocked-at-login")
    await page.get_by_role("button", name="Back to log in").click()
    await expect(page.get_by_label("Email")).to_be_focused()


async def test_the_2fa_pages_read_on_a_phone_width_screen(portal: Any, page: Page) -> None:
    await page.set_viewport_size({"width": 390, "height": 800})
    async with httpx.AsyncClient(base_url=portal.gateway, timeout=30) as http:
        api = AuthClient(http)
        admin = await api.sign_up()
        await api.enforce(admin, grace_days=5)
    await log_in(page, portal.gateway, admin)
    await expect(page.get_by_test_id("totp-deadline")).to_be_visible()
    await page.goto(f"{portal.gateway}/two-factor")  # the gateway serves the portal at the page's own address
    await page.get_by_role("button", name="Set up an authenticator app").click()
    await expect(page.get_by_test_id("totp-secret")).to_be_visible()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"/two-factor scrolls sideways: {width}px"
    await shot(page, "two-factor-phone")
