"""Placing an order: priced with GST from the buyer's profile, recorded once per (account, order id), paid
from credits when they cover it (else it awaits payment)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from billing.adapters.order_store import find_order, insert_order, mark_awaiting, order_from_values
from billing.adapters.paid_order_store import pay_new_order_from_credits
from billing.domain.gst import Rates
from billing.domain.ledger import EntryKind, InsufficientCredits
from billing.domain.orders import (
    Item,
    Order,
    OrderStatus,
    PaymentMethod,
    PricedOrder,
    is_intra_state,
    order_lines,
    price_order,
    request_hash,
    same_order,
)
from billing.settings import BillingSettings
from billing.use_cases.apply_to_wallet import apply_to_wallet
from billing.use_cases.order_events import order_fields, paid_event, placed_event
from billing.use_cases.profiles import order_buyer_of, remembered_buyer
from tollgate_shared.events import Envelope
from tollgate_shared.events.models import BuyerSnapshot, OrderLine
from tollgate_shared.money import to_minor
from tollgate_shared.outbox import discard_events, record_events


async def place_order(
    db: AsyncSession, *, account_id: str, order_id: str | None, items: list[Item], settings: BillingSettings
) -> Order:
    """Price and record the order once per (account, order id); pay it from credits if they cover it.

    An account whose billing profile lacks its legal name, address or state is refused
    (`BillingProfileRequired`, 422), as is an order whose total is past the maximum (`OrderTooLarge`), before
    anything is written;
    the same order id with other items is an `OrderConflict` (409), with the same items the order recorded.
    """
    order_id = order_id or str(uuid.uuid4())
    fingerprint = request_hash(items)
    # The common case is one statement (covered, a new id, no threshold crossed), priced for the buyer an
    # earlier order of this process read: the statement writes nothing unless that is still the buyer on record.
    remembered = remembered_buyer(account_id, seller_state=settings.seller_state)
    if remembered is not None:
        draft = _draft(account_id, order_id, fingerprint, items, remembered, settings)
        if await _paid_in_one_statement(db, draft):
            return draft.order
    current = await order_buyer_of(db, account_id, seller_state=settings.seller_state)
    draft = _draft(account_id, order_id, fingerprint, items, current, settings)
    if current != remembered and await _paid_in_one_statement(db, draft):
        return draft.order
    return await _place_step_by_step(db, draft, fingerprint, settings)


@dataclass(frozen=True)
class _Draft:
    """An order priced for its buyer, not written yet: its row, the order it reads as, and the events that
    announce it paid by the ledger entry `entry_id`."""

    values: dict[str, object]
    order: Order
    lines: list[OrderLine]
    buyer: BuyerSnapshot
    entry_id: str
    announced: list[Envelope]


def _draft(
    account_id: str,
    order_id: str,
    fingerprint: str,
    items: list[Item],
    buyer: tuple[BuyerSnapshot, str],
    settings: BillingSettings,
) -> _Draft:
    snapshot, place_of_supply = buyer
    intra_state = is_intra_state(place_of_supply, settings.seller_state)
    rates = Rates(settings.cgst_rate, settings.sgst_rate, settings.igst_rate)
    priced = price_order(items, intra_state=intra_state, rates=rates)
    lines = order_lines(priced, intra_state=intra_state, rates=rates)
    values = _new_order(account_id, order_id, fingerprint, priced, lines, snapshot, place_of_supply, settings.currency)
    new = order_from_values(values)
    entry_id = str(uuid.uuid4())  # the ledger entry that pays it: the paid event names it
    fields = order_fields(new, lines, snapshot)  # what was just priced: not read back from JSON
    return _Draft(
        values, new, lines, snapshot, entry_id, [placed_event(new, fields), paid_event(new, entry_id, fields)]
    )


async def _paid_in_one_statement(db: AsyncSession, draft: _Draft) -> bool:
    return await pay_new_order_from_credits(
        db, draft.values, draft.announced, entry_id=draft.entry_id, buyer=draft.buyer
    )


async def _place_step_by_step(db: AsyncSession, draft: _Draft, fingerprint: str, settings: BillingSettings) -> Order:
    """Every case, in the request's transaction: inserted as paid and announced as paid, then paid. The money
    moves last, so the wallet's lock (one account's orders queue on it) is held for one statement and the
    commit."""
    placed = await insert_order(db, draft.values)
    if placed is None:
        # The id is taken: a repeat of an order, or a concurrent request with the
        # same id that won (the insert waited for its commit). Nothing was charged.
        existing = await find_order(db, draft.order.account_id, draft.order.order_id)
        assert existing is not None
        return same_order(existing, fingerprint)
    await record_events(db, draft.announced)
    try:
        # A new order's reference has no ledger entry yet (the order id is unique per account).
        await apply_to_wallet(
            db,
            account_id=placed.account_id,
            kind=EntryKind.ORDER,
            reference=placed.order_id,
            amount_minor=-placed.total_minor,
            currency=settings.currency,
            entry_id=draft.entry_id,
        )
    except InsufficientCredits:  # it awaits payment: announced as such instead
        await discard_events(db, draft.announced)
        placed = await mark_awaiting(db, placed.id)
        await record_events(db, [placed_event(placed, order_fields(placed, draft.lines, draft.buyer))])
    return placed


def _new_order(
    account_id: str,
    order_id: str,
    fingerprint: str,
    priced: PricedOrder,
    lines: list[OrderLine],
    buyer: BuyerSnapshot,
    place_of_supply: str,
    currency: str,
) -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        "id": str(uuid.uuid4()),
        "account_id": account_id,
        "order_id": order_id,
        "request_hash": fingerprint,
        "status": str(OrderStatus.PAID),
        "paid_at": now,
        "payment_method": str(PaymentMethod.CREDITS),
        "currency": currency,
        "lines": json.dumps([line.model_dump(mode="json") for line in lines]),
        "subtotal_minor": to_minor(priced.subtotal),
        "cgst_minor": to_minor(priced.cgst),
        "sgst_minor": to_minor(priced.sgst),
        "igst_minor": to_minor(priced.igst),
        "total_minor": to_minor(priced.total),
        "buyer": buyer.model_dump_json(),
        "place_of_supply": place_of_supply,
        "created_at": now,
    }
