"""What the invoicing tests share: an order's line, GSTINs that pass the checksum, an order's invoice."""

from __future__ import annotations

from typing import Any

from tests.support.auth_client import AuthClient, User
from tests.support.harness import wait_for

KARNATAKA_GSTIN = "29ABCDE1234F1Z5"


ITEM = {"description": "OV SSL certificate, 1 year", "sac": "998319", "quantity": 2, "unit_price": "2500.00"}


async def valid_gstin(client: AuthClient, admin: User, state: str, gstin: str) -> None:
    """Set the billing profile (the test GSTINs' check characters are fixed up by billing's own function)."""
    from billing.domain.gst import gstin_check_character

    gstin = gstin[:14] + gstin_check_character(gstin[:14])
    answer = await client.call(
        "PUT",
        "/api/billing/profile",
        admin,
        json={"legal_name": "Acme Widgets Pvt Ltd", "address": "1 MG Road", "state": state, "gstin": gstin},
    )
    assert answer.status_code == 200, answer.text


async def invoice_of(client: AuthClient, user: User, order_id: str, status: str) -> dict[str, Any]:
    found: dict[str, Any] = {}

    async def arrived() -> bool:
        answer = await client.call("GET", f"/api/invoices?order_id={order_id}", user)
        items = answer.json()["items"]
        if items and items[0]["status"] == status:
            found.update(items[0])
            return True
        return False

    await wait_for(arrived, timeout=20)
    return found
