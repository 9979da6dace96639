"""The data a fuzz run needs, made through the gateway: who calls, and ids that exist.

An account with an administrator (the fuzzer's caller), a member (whose
session `logout` may end), finance staff (TOTP at login), an IP rule, a billing
profile, a paid top-up and a pending one, an order paid from credits and one
awaiting payment, an offline payment awaiting finance, and the invoice and
receipt invoicing made of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import pytest

from tests.support.auth_client import AuthClient, User, finance_staff
from tests.support.billing import sign_up_buyer
from tests.support.harness import wait_for

CERTIFICATE = {"description": "OV SSL certificate, 1 year", "sac": "998319", "quantity": 1, "unit_price": "500.00"}
PROFILE = {"legal_name": "Acme Private Limited", "address": "1 MG Road", "state": "Karnataka", "gstin": None}
GOOD_CARD = "4242424242424242"
EVERYWHERE = (("0.0.0.0", "255.255.255.255"), ("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))


@dataclass
class World:
    admin: User
    member: User
    staff: User
    # (path template, path parameter) -> ids that exist for the caller of that path.
    known: dict[tuple[str, str], list[str]] = field(default_factory=dict)


async def build_world(client: AuthClient, system: Any, monkeypatch: pytest.MonkeyPatch) -> World:
    admin = await sign_up_buyer(client)
    member = await client.add_user(admin)
    await client.log_in(member)
    world = World(admin, member, await finance_staff(client, system, monkeypatch))
    await seed_auth(client, world)
    if "billing" in system.urls:
        await seed_billing(client, world)
    if "invoicing" in system.urls:
        await seed_invoicing(client, world)
    return world


async def created(client: AuthClient, user: User, path: str, body: dict[str, Any], status: int = 201) -> Any:
    answer = await client.call("POST", path, user, json=body)
    assert answer.status_code == status, answer.text
    return answer.json()


async def seed_auth(client: AuthClient, world: World) -> None:
    # The administrator may connect from anywhere by a rule of their own, whose id the
    # fuzzer never learns: no generated rule can shut the caller out mid-run.
    for start, end in EVERYWHERE:
        rule = {"user_id": world.admin.id, "start_ip": start, "end_ip": end, "description": "fuzzer"}
        await created(client, world.admin, "/api/account/ip-restrictions", rule)
    member_rule = {"user_id": world.member.id, "start_ip": "127.0.0.0", "end_ip": "127.255.255.255"}
    rule = await created(client, world.admin, "/api/account/ip-restrictions", member_rule)
    world.known[("/api/account/ip-restrictions/{rule_id}", "rule_id")] = [rule["id"]]
    world.known[("/api/account/users/{user_id}", "user_id")] = [world.member.id, world.admin.id]
    world.known[("/api/account/users/{user_id}/totp", "user_id")] = [world.member.id, world.admin.id]


async def seed_billing(client: AuthClient, world: World) -> None:
    admin = world.admin
    answer = await client.call("PUT", "/api/billing/profile", admin, json=PROFILE)
    assert answer.status_code == 200, answer.text
    paid_top_up = await created(client, admin, "/api/billing/credits/online", {"amount": "1000.00"})
    checkout = await client.client.post(paid_top_up["redirect_url"], data={"card_number": GOOD_CARD})
    assert checkout.status_code == 303, checkout.text
    pending_top_up = await created(client, admin, "/api/billing/credits/online", {"amount": "200.00"})
    paid = await created(client, admin, "/api/billing/orders", {"order_id": "fuzz-paid", "items": [CERTIFICATE]})
    assert paid["status"] == "paid", paid
    big = {**CERTIFICATE, "quantity": 1000}
    due = await created(client, admin, "/api/billing/orders", {"order_id": "fuzz-due", "items": [big]})
    assert due["status"] == "awaiting_payment", due
    transfer = {"amount": "300.00", "mode": "neft", "reference": "UTR-FUZZ-1", "paid_on": str(date.today())}
    offline = await created(client, admin, "/api/billing/credits/offline", transfer, status=202)
    payments = [paid_top_up["payment_id"], pending_top_up["payment_id"]]
    orders = [paid["order_id"], due["order_id"]]
    world.known.update(
        {
            ("/api/billing/payments/{payment_id}", "payment_id"): payments,
            ("/api/billing/payments/{payment_id}/recheck", "payment_id"): payments,
            ("/api/billing/orders/{order_id}", "order_id"): orders,
            ("/api/billing/orders/{order_id}/pay", "order_id"): orders,
            ("/api/finance/offline-payments/{payment_id}/decision", "payment_id"): [offline["id"]],
            ("/api/billing/webhooks/{provider_name}", "provider_name"): ["sandbox", "stripe"],
        }
    )


async def seed_invoicing(client: AuthClient, world: World) -> None:
    """Wait for the invoices of both orders and the receipt of the paid top-up."""

    async def documents() -> list[str] | None:
        answer = await client.call("GET", "/api/invoices", world.admin)
        ids = [item["id"] for item in answer.json()["items"]] if answer.status_code == 200 else []
        return ids if len(ids) >= 3 else None

    ids = await wait_for(documents, timeout=30)
    world.known[("/api/invoices/{document_id}", "document_id")] = ids
    world.known[("/api/invoices/{document_id}/pdf", "document_id")] = ids


async def openapi_document(client: httpx.AsyncClient, path: str) -> dict[str, Any]:
    answer = await client.get(path)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())
