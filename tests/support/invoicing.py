"""What the invoicing tests share: an order's line, GSTINs that pass the checksum, an order's invoice, billing's
events as invoicing receives them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from tests.support.auth_client import AuthClient, User
from tests.support.harness import wait_for
from tollgate_shared.events import Envelope, new_event
from tollgate_shared.events.models import (
    BuyerSnapshot,
    OfflinePaymentApproved,
    OrderLine,
    OrderPaid,
    OrderPlaced,
    PaymentSucceeded,
    TaxSplit,
)

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


def order_event(order_id: str, account_id: str, *, paid: bool = False, at: datetime | None = None) -> Envelope:
    line = OrderLine(
        description="DV SSL", sac="998319", quantity=1, unit_price=Decimal("100.00"), taxable_value=Decimal("100.00"),
        cgst=Decimal("9.00"), sgst=Decimal("9.00"), igst=Decimal("0.00"), total=Decimal("118.00"),
    )  # fmt: skip
    fields: dict[str, Any] = {
        "order_id": order_id,
        "status": "paid" if paid else "awaiting_payment",
        "currency": "INR",
        "lines": [line],
        "subtotal": Decimal("100.00"),
        "tax": TaxSplit(cgst=Decimal("9.00"), sgst=Decimal("9.00"), igst=Decimal("0.00")),
        "total": Decimal("118.00"),
        "buyer": BuyerSnapshot(legal_name="Acme", address="1 MG Road", state="Karnataka"),
        "place_of_supply": "Karnataka",
    }
    if paid:
        data: Any = OrderPaid(**fields, method="credits", paid_at=at or datetime.now(UTC), payment_reference="led-1")
        event = new_event(data, source="billing", account_id=account_id)
    else:
        event = new_event(OrderPlaced(**fields), source="billing", account_id=account_id)
    return event if at is None else event.model_copy(update={"occurred_at": at})


def top_up_event(payment_id: str, account_id: str, *, amount: str = "500.00", at: datetime | None = None) -> Envelope:
    """billing.payment.succeeded: an online top-up, which gets a receipt."""
    data = PaymentSucceeded(
        payment_id=payment_id, amount=Decimal(amount), currency="INR", provider="sandbox",
        provider_reference=f"ch_{payment_id}", paid_at=at or datetime.now(UTC),
    )  # fmt: skip
    event = new_event(data, source="billing", account_id=account_id)
    return event if at is None else event.model_copy(update={"occurred_at": at})


def offline_approval_event(offline_payment_id: str, account_id: str) -> Envelope:
    """billing.offline_payment.approved: a bank transfer finance approved, which gets a receipt."""
    data = OfflinePaymentApproved(
        offline_payment_id=offline_payment_id, amount=Decimal("2000.00"), currency="INR", mode="neft",
        reference="UTR42", paid_on=date(2026, 11, 2), bank="HDFC", approved_by="finance",
    )  # fmt: skip
    return new_event(data, source="billing", account_id=account_id)
