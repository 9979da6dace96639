"""The events an order is announced with: `billing.order.placed` and `billing.order.paid`.

Built as envelopes (not recorded one by one) because placing an order writes
both in one outbox statement and takes them back when credits do not cover it.
"""

from __future__ import annotations

import json

from billing.domain.orders import Order, PaymentMethod
from tollgate_shared.events import Envelope, new_event
from tollgate_shared.events.models import BuyerSnapshot, OrderLine, OrderPaid, OrderPlaced, TaxSplit
from tollgate_shared.money import from_minor

SOURCE = "billing"


def order_fields(
    order: Order, lines: list[OrderLine] | None = None, buyer: BuyerSnapshot | None = None
) -> dict[str, object]:
    """What both events say of the order; the lines and buyer read back from its JSON unless given."""
    return {
        "order_id": order.order_id,
        "status": order.status,
        "currency": order.currency,
        "lines": lines if lines is not None else json.loads(order.lines_json),
        "subtotal": from_minor(order.subtotal_minor),
        "tax": TaxSplit(
            cgst=from_minor(order.cgst_minor), sgst=from_minor(order.sgst_minor), igst=from_minor(order.igst_minor)
        ),
        "total": from_minor(order.total_minor),
        "buyer": buyer if buyer is not None else BuyerSnapshot.model_validate_json(order.buyer_json),
        "place_of_supply": order.place_of_supply,
    }


def placed_event(order: Order, fields: dict[str, object]) -> Envelope:
    return new_event(OrderPlaced(**fields), source=SOURCE, account_id=order.account_id)


def paid_event(order: Order, payment_reference: str, fields: dict[str, object] | None = None) -> Envelope:
    """`billing.order.paid`, with `fields` (`order_fields`) when the caller has them already."""
    paid = OrderPaid(
        **(fields or order_fields(order)),
        method=order.payment_method or PaymentMethod.CREDITS,
        paid_at=order.paid_at,
        payment_reference=payment_reference,
    )
    return new_event(paid, source=SOURCE, account_id=order.account_id)
