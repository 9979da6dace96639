"""Certificate orders: place (priced with GST, paid from credits when they cover it), list, view, pay."""

from __future__ import annotations

import json
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from billing.api.deps import OrderGateDep, ProviderDep, SettingsDep
from billing.api.idempotency import IDEMPOTENCY_KEY_REUSED, IdempotencyKeyDep, answer_for, conflicts, sent
from billing.api.payments import PaymentRead, payment_view
from billing.domain.orders import Item, Order, OrderStatus, PaymentMethod
from billing.use_cases.pay_order import Paying, pay_order_online, pay_order_with_key
from billing.use_cases.place_order import place_order
from billing.use_cases.read_orders import list_orders as list_account_orders
from billing.use_cases.read_orders import online_charge_of, order_of
from tollgate_shared.auth_upstream import AccountUserDep
from tollgate_shared.errors import InvalidField
from tollgate_shared.events.models import BuyerSnapshot, OrderLine, TaxSplit
from tollgate_shared.fields import RequestBody, Timestamp
from tollgate_shared.money import Money, PositiveMoney, from_minor
from tollgate_shared.openapi import problems
from tollgate_shared.pagination import Page, PageDep
from tollgate_shared.service import RuntimeDep, SessionDep

router = APIRouter(prefix="/api/billing/orders", tags=["orders"])


class ItemIn(RequestBody):
    description: str = Field(min_length=1, max_length=200)
    sac: str = Field(pattern=r"^99[0-9]{4}$", description="the 6-digit services accounting code")
    quantity: int = Field(ge=1, le=100_000)
    unit_price: PositiveMoney


class OrderCreate(RequestBody):
    order_id: str | None = Field(default=None, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")
    items: list[ItemIn] = Field(min_length=1)


class PayRequest(RequestBody):
    method: PaymentMethod = Field(strict=False)  # its values, as JSON strings (strict takes only instances)


class OrderRead(BaseModel):
    order_id: str
    status: OrderStatus
    currency: str
    lines: list[OrderLine]
    subtotal: Money
    tax: TaxSplit
    total: Money
    buyer: BuyerSnapshot
    place_of_supply: str
    created_at: Timestamp
    paid_at: Timestamp | None
    # Paying online: the checkout to send the payer to; the order turns paid when the payment succeeds.
    payment: PaymentRead | None = None
    # One awaiting order read on its own: what paying it online would charge now (the shortfall, at least
    # the smallest online payment; "0.00" when the credits cover it); null otherwise, or beyond the largest.
    online_charge: Money | None = None


def order_view(placed: Order, payment: PaymentRead | None = None) -> OrderRead:
    return OrderRead(
        order_id=placed.order_id,
        status=placed.status,
        currency=placed.currency,
        lines=json.loads(placed.lines_json),
        subtotal=from_minor(placed.subtotal_minor),
        tax=TaxSplit(
            cgst=from_minor(placed.cgst_minor), sgst=from_minor(placed.sgst_minor), igst=from_minor(placed.igst_minor)
        ),
        total=from_minor(placed.total_minor),
        buyer=BuyerSnapshot.model_validate_json(placed.buyer_json),
        place_of_supply=placed.place_of_supply,
        created_at=placed.created_at,
        paid_at=placed.paid_at,
        payment=payment,
    )


@router.post("", status_code=201, responses=problems(409))
async def create_order(
    body: OrderCreate, caller: AccountUserDep, _gate: OrderGateDep, db: SessionDep, settings: SettingsDep
) -> OrderRead:
    """Place an order; the same order id with the same items answers the first result and charges nothing more."""
    if len(body.items) > settings.max_order_lines:
        raise InvalidField("items", f"must have at most {settings.max_order_lines} lines")
    items = [Item(i.description.strip(), i.sac, i.quantity, i.unit_price) for i in body.items]
    placed = await place_order(db, account_id=caller.account_id, order_id=body.order_id, items=items, settings=settings)
    return order_view(placed)


@router.get("")
async def list_orders(caller: AccountUserDep, db: SessionDep, paging: PageDep) -> Page[OrderRead]:
    """The account's orders, newest first."""
    orders, total = await list_account_orders(db, caller.account_id, paging)
    return Page(items=[order_view(o) for o in orders], total=total, page=paging.page, page_size=paging.page_size)


@router.get("/{order_id}")
async def get_order(order_id: str, caller: AccountUserDep, db: SessionDep, settings: SettingsDep) -> OrderRead:
    """One order with its lines and tax, and while it awaits payment what paying it online would charge
    (another account's order is a 404)."""
    found = await order_of(db, caller.account_id, order_id)
    charge = await online_charge_of(db, caller.account_id, found, settings.online_limits)
    return order_view(found).model_copy(update={"online_charge": None if charge is None else from_minor(charge)})


def paid_online_view(paying: Paying) -> OrderRead:
    paid, started = paying
    return order_view(paid, payment_view(started) if started is not None else None)


@router.post(
    "/{order_id}/pay",
    response_model=OrderRead,
    responses={
        **problems(402),
        **conflicts(f"The balance has no room for the payment (`balance_limit`); or {IDEMPOTENCY_KEY_REUSED}."),
    },
)
async def pay(
    order_id: str,
    body: PayRequest,
    caller: AccountUserDep,
    key: IdempotencyKeyDep,
    runtime: RuntimeDep,
    provider: ProviderDep,
    settings: SettingsDep,
) -> OrderRead | Response:
    """Pay an awaiting order: from credits (200, or 402 `insufficient_credits`) or online (200 with the checkout
    for what the balance lacks, within the online payment limits; none needed when the credits cover it)."""
    if body.method is PaymentMethod.CREDITS:
        answer = answer_for(key, body, status=200, render=order_view)
        paid = await pay_order_with_key(
            runtime.session_factory, account_id=caller.account_id, order_id=order_id, settings=settings, answer=answer
        )
        return sent(answer) or order_view(paid)
    paying = answer_for(key, body, status=200, render=paid_online_view)
    paid, started = await pay_order_online(
        runtime.session_factory,
        provider,
        account_id=caller.account_id,
        created_by=caller.user_id,
        order_id=order_id,
        return_path=f"/certificates/orders/{quote(order_id, safe='')}",
        settings=settings,
        answer=paying,
    )
    return sent(paying) or paid_online_view((paid, started))
