"""What the billing tests share: crediting and reading a wallet, paying on the stand-in checkout page,
submitting offline payments and finance decisions, the billing profile an order needs."""

from __future__ import annotations

from datetime import date
from typing import Any

import aio_pika
import httpx

from billing.handlers import DECISIONS_QUEUE
from billing.ledger import apply_to_wallet
from tests.support.auth_client import AuthClient, User
from tollgate_shared.bus import topology
from tollgate_shared.events import new_event
from tollgate_shared.events.models import OfflinePaymentDecided


async def apply(system: Any, account_id: str, amount_minor: int, reference: str, kind: str = "adjustment") -> Any:
    factory = system.apps["billing"].state.runtime.session_factory
    async with factory() as db, db.begin():
        return await apply_to_wallet(
            db, account_id=account_id, kind=kind, reference=reference, amount_minor=amount_minor, currency="INR"
        )


async def balance(client: AuthClient, user: User) -> dict[str, Any]:
    answer = await client.call("GET", "/api/billing/balance", user)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


GOOD_CARD, DECLINED_CARD = "4242 4242 4242 4242", "4000000000000002"


async def top_up(client: AuthClient, user: User, amount: str = "500.00") -> dict[str, Any]:
    answer = await client.call("POST", "/api/billing/credits/online", user, json={"amount": amount})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def pay_on_page(client: AuthClient, redirect_url: str, card: str) -> httpx.Response:
    """What the payer's browser does: open the sandbox page, submit the card (no token: the page is public)."""
    page = await client.client.get(redirect_url, headers=client.headers())
    assert page.status_code == 200 and 'name="card_number"' in page.text
    return await client.client.post(redirect_url, data={"card_number": card}, headers=client.headers())


TRANSFER = {"amount": "5000.00", "mode": "neft", "reference": "UTR0001", "paid_on": str(date.today()), "bank": "HDFC"}


async def submit(client: AuthClient, user: User, **changes: Any) -> httpx.Response:
    return await client.call("POST", "/api/billing/credits/offline", user, json={**TRANSFER, **changes})


async def publish_decision(amqp_url: str, data: OfflinePaymentDecided, *, user_id: str | None) -> str:
    event = new_event(data, source="finance")
    async with await aio_pika.connect(amqp_url) as connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange("tollgate.events")
        message = aio_pika.Message(
            event.to_json(), message_id=event.id, user_id=user_id, delivery_mode=aio_pika.DeliveryMode.PERSISTENT
        )
        await exchange.publish(message, routing_key=event.type)
    return event.id


CERTIFICATE = {"description": "OV SSL certificate, 1 year", "sac": "998319", "quantity": 2, "unit_price": "500.00"}


SELLER_STATE_GSTIN = "29AAGCB7383J1Z4"  # Karnataka, the seller's state by default


async def set_profile(client: AuthClient, admin: User, state: str, gstin: str | None) -> httpx.Response:
    profile = {"legal_name": "Acme Private Limited", "address": "1 MG Road", "state": state, "gstin": gstin}
    return await client.call("PUT", "/api/billing/profile", admin, json=profile)


async def parked(amqp_url: str) -> int:
    async with await aio_pika.connect(amqp_url) as connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(topology.dead_letter_queue(DECISIONS_QUEUE), passive=True)
        return queue.declaration_result.message_count or 0
