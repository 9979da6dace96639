"""What the billing tests share: crediting and reading a wallet, paying on the stand-in checkout page,
submitting offline payments and finance decisions, the billing profile an order needs."""

from __future__ import annotations

from datetime import date
from typing import Any

import aio_pika
import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from billing.handlers import DECISIONS_QUEUE
from billing.use_cases.apply_to_wallet import apply_to_wallet
from billing.use_cases.profiles import set_profile as set_profile_of
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
    profile = {**PROFILE, "state": state, "gstin": gstin}
    return await client.call("PUT", "/api/billing/profile", admin, json=profile)


# The billing profile an order needs (legal name, address, state); within the seller's state, no GSTIN.
PROFILE: dict[str, str | None] = {
    "legal_name": "Acme Private Limited",
    "address": "1 MG Road",
    "state": "Karnataka",
    "gstin": None,
}


async def give_profile(client: AuthClient, admin: User) -> User:
    """Set the account's billing profile (`PROFILE`) through the API, as its administrator; `admin` again."""
    answer = await client.call("PUT", "/api/billing/profile", admin, json=PROFILE)
    assert answer.status_code == 200, answer.text
    return admin


async def store_profile(db: AsyncSession, account_id: str) -> None:
    """Set the account's billing profile (`PROFILE`) in billing's database, for tests that call use cases."""
    legal_name, address, state = (str(PROFILE[name]) for name in ("legal_name", "address", "state"))
    await set_profile_of(db, account_id, legal_name=legal_name, address=address, state=state, gstin=None)


async def sign_up_buyer(client: AuthClient) -> User:
    """A new account's administrator whose account may place orders (its billing profile set)."""
    return await give_profile(client, await client.sign_up())


async def parked(amqp_url: str) -> int:
    async with await aio_pika.connect(amqp_url) as connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(topology.dead_letter_queue(DECISIONS_QUEUE), passive=True)
        return queue.declaration_result.message_count or 0
