"""Orders: priced with GST from the buyer's profile, charged once, paid from credits when they cover it."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from billing.adapters.tables import order
from billing.domain.gst import Rates
from billing.domain.ledger import InsufficientCredits
from billing.domain.orders import Item, price_order
from billing.ledger import apply_to_wallet, locked_wallet
from billing.profiles import buyer_of
from billing.settings import BillingSettings
from tollgate_shared import direct_sql
from tollgate_shared.db import insert_unless_exists
from tollgate_shared.errors import Conflict, NotFound
from tollgate_shared.events import Envelope, new_event
from tollgate_shared.events.models import BuyerSnapshot, OrderLine, OrderPaid, OrderPlaced, TaxSplit
from tollgate_shared.gst_states import state_code
from tollgate_shared.money import format_money, from_minor, to_minor
from tollgate_shared.outbox import discard_events, record_events


class OrderConflict(Conflict):
    code, title = "order_id_conflict", "This order id was used for a different order"


def request_hash(items: list[Item]) -> str:
    canonical = json.dumps(
        [[i.description, i.sac, i.quantity, format_money(i.unit_price)] for i in items], separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


async def place_order(
    db: AsyncSession, *, account_id: str, order_id: str | None, items: list[Item], settings: BillingSettings
) -> Any:
    """Price and record the order once per (account, order id); pay it from credits if they cover it.

    An order whose total is past the maximum is refused (`OrderTooLarge`, 422) before anything is written.
    """
    order_id = order_id or str(uuid.uuid4())
    fingerprint = request_hash(items)
    buyer, place_of_supply = await buyer_of(db, account_id, settings)
    intra_state = state_code(place_of_supply) == state_code(settings.seller_state)
    rates = Rates(settings.cgst_rate, settings.sgst_rate, settings.igst_rate)
    order_price = price_order(items, intra_state=intra_state, rates=rates)
    lines = order_price.lines
    priced = [
        OrderLine(
            description=line.description,
            sac=line.sac,
            quantity=line.quantity,
            unit_price=line.unit_price,
            taxable_value=line.taxable_value,
            cgst=line.cgst,
            sgst=line.sgst,
            igst=line.igst,
            total=line.total,
            # The rates applied, so a document printed later shows them exactly.
            cgst_rate=rates.cgst if intra_state else Decimal("0"),
            sgst_rate=rates.sgst if intra_state else Decimal("0"),
            igst_rate=Decimal("0") if intra_state else rates.igst,
        )
        for line in lines
    ]
    total_minor = to_minor(order_price.total)
    now = datetime.now(UTC)
    # Inserted as paid and announced as paid, then paid: the money moves last, so
    # the wallet's lock (one account's orders queue on it) is held for one
    # statement and the commit.
    new_order = {
        "id": str(uuid.uuid4()),
        "account_id": account_id,
        "order_id": order_id,
        "request_hash": fingerprint,
        "status": "paid",
        "paid_at": now,
        "payment_method": "credits",
        "currency": settings.currency,
        "lines": json.dumps([line.model_dump(mode="json") for line in priced]),
        "subtotal_minor": to_minor(order_price.subtotal),
        "cgst_minor": to_minor(order_price.cgst),
        "sgst_minor": to_minor(order_price.sgst),
        "igst_minor": to_minor(order_price.igst),
        "total_minor": total_minor,
        "buyer": buyer.model_dump_json(),
        "place_of_supply": place_of_supply,
        "created_at": now,
    }
    row = await insert_unless_exists(db, order, new_order)
    if row is None:
        # The id is taken: a repeat of an order, or a concurrent request with the
        # same id that won (the insert waited for its commit). Nothing was charged.
        existing = await _order_row(db, account_id, order_id)
        assert existing is not None
        return _same_or_conflict(existing, fingerprint)
    entry_id = str(uuid.uuid4())  # the ledger entry that pays it: the paid event names it
    fields = _event_fields(row, lines=priced, buyer=buyer)  # what was just priced: not read back from JSON
    announced = [_placed_event(row, fields), _paid_event(row, entry_id, fields)]
    await record_events(db, announced)
    try:
        # A new order's reference has no ledger entry yet (the order id is unique per account).
        await apply_to_wallet(
            db,
            account_id=account_id,
            kind="order",
            reference=order_id,
            amount_minor=-total_minor,
            currency=settings.currency,
            entry_id=entry_id,
        )
    except InsufficientCredits:  # it awaits payment: announced as such instead
        await discard_events(db, announced)
        row = (await db.execute(_MARK_AWAITING, {"p_id": row.id})).one()
        await record_events(db, [_placed_event(row, _event_fields(row, lines=priced, buyer=buyer))])
    return row


async def pay_order(db: AsyncSession, *, account_id: str, order_id: str, settings: BillingSettings) -> Any:
    """Pay an awaiting order from credits (402 when they do not cover it); a paid order stays paid."""
    # The wallet before the order, as a credited online payment takes them when it
    # pays its order: the same two locks taken the other way round could deadlock.
    await locked_wallet(db, account_id, currency=settings.currency)
    row = await _order_row(db, account_id, order_id, lock=True)
    if row is None:
        raise NotFound("No such order.")
    if row.status == "paid":
        return row
    paid = await _pay_from_credits(db, row, settings)
    if paid is None:
        raise InsufficientCredits(f"The order's total is {from_minor(row.total_minor)}.")
    row, entry_id = paid
    await record_events(db, [_paid_event(row, entry_id)])
    return row


async def pay_awaiting_order(
    db: AsyncSession, *, account_id: str, order_id: str, settings: BillingSettings, method: str, payment_reference: str
) -> bool:
    """Pay the order from credits if it still awaits payment (after an online payment credited them)."""
    row = await _order_row(db, account_id, order_id, lock=True)
    if row is None or row.status == "paid":
        return False
    paid = await _pay_from_credits(db, row, settings, method=method)
    if paid is None:
        return False
    await record_events(db, [_paid_event(paid[0], payment_reference)])
    return True


async def find_order(db: AsyncSession, account_id: str, order_id: str) -> Any:
    row = await _order_row(db, account_id, order_id)
    if row is None:
        raise NotFound("No such order.")
    return row


# Built once: building a Core statement costs more CPU than running it.
_ORDER = select(order).where(order.c.account_id == bindparam("p_account"), order.c.order_id == bindparam("p_order"))
_ORDER_FOR_UPDATE = _ORDER.with_for_update()
_MARK_AWAITING = (
    update(order)
    .where(order.c.id == bindparam("p_id"))
    .values(status="awaiting_payment", paid_at=None, payment_method=None)
    .returning(*order.c)
)
_MARK_PAID = (
    update(order)
    .where(order.c.id == bindparam("p_id"))
    .values(status="paid", paid_at=bindparam("p_paid_at"), payment_method=bindparam("p_method"))
    .returning(*order.c)
)


async def _order_row(db: AsyncSession, account_id: str, order_id: str, *, lock: bool = False) -> Any:
    query = _ORDER_FOR_UPDATE if lock else _ORDER
    return await direct_sql.first(db, query, {"p_account": account_id, "p_order": order_id})


def _same_or_conflict(row: Any, fingerprint: str) -> Any:
    if row.request_hash != fingerprint:
        raise OrderConflict("An order with this id and other items exists; nothing was charged.")
    return row


async def _pay_from_credits(
    db: AsyncSession, row: Any, settings: BillingSettings, *, method: str = "credits"
) -> tuple[Any, str] | None:
    """The paid order's row and the ledger entry's id when credits paid it; None when they do not cover it."""
    try:
        applied = await apply_to_wallet(
            db,
            account_id=row.account_id,
            kind="order",
            reference=row.order_id,
            amount_minor=-row.total_minor,
            currency=settings.currency,
        )
    except InsufficientCredits:
        return None
    paid = await db.execute(_MARK_PAID, {"p_id": row.id, "p_paid_at": datetime.now(UTC), "p_method": method})
    return paid.one(), applied.entry_id


def _event_fields(
    row: Any, *, lines: list[OrderLine] | None = None, buyer: BuyerSnapshot | None = None
) -> dict[str, Any]:
    return {
        "order_id": row.order_id,
        "status": row.status,
        "currency": row.currency,
        "lines": lines if lines is not None else json.loads(row.lines),
        "subtotal": from_minor(row.subtotal_minor),
        "tax": TaxSplit(
            cgst=from_minor(row.cgst_minor), sgst=from_minor(row.sgst_minor), igst=from_minor(row.igst_minor)
        ),
        "total": from_minor(row.total_minor),
        "buyer": buyer if buyer is not None else BuyerSnapshot.model_validate_json(row.buyer),
        "place_of_supply": row.place_of_supply,
    }


def _placed_event(row: Any, fields: dict[str, Any]) -> Envelope:
    return new_event(OrderPlaced(**fields), source="billing", account_id=row.account_id)


def _paid_event(row: Any, payment_reference: str, fields: dict[str, Any] | None = None) -> Envelope:
    paid = OrderPaid(
        **(fields or _event_fields(row)),
        method=row.payment_method,
        paid_at=row.paid_at,
        payment_reference=payment_reference,
    )
    return new_event(paid, source="billing", account_id=row.account_id)
