"""The sandbox payment provider (DESIGN §7): a hosted checkout of Tollgate's own.

It behaves like Stripe Checkout from billing's side: it opens sessions, keeps
them in its own table, and reports completion as a `checkout.session.*` event
signed with the Stripe scheme and its own secret, which billing reads through
the same webhook intake as Stripe's. Card 4242 4242 4242 4242 pays,
4000 0000 0000 0002 is declined, anything else is refused without a change.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.adapters.signed_webhooks import API_VERSION, read_session_webhook, signature_header
from billing.adapters.tables import sandbox_checkout
from billing.domain.payments import Checkout, CheckoutRequest, Outcome, PaymentStatus, outcome_of_session

SUCCEEDING_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"
CHECKOUT_LIFETIME = timedelta(hours=24)  # Stripe's default for a Checkout Session


class UnknownCard(ValueError):
    """Not one of the sandbox's test cards."""


@dataclass(frozen=True)
class Notification:
    """A signed webhook the sandbox sends billing, and where the payer goes next."""

    payload: bytes
    signature: str
    return_url: str


@dataclass(frozen=True)
class SandboxCheckout:
    """A hosted checkout as the sandbox keeps it (Stripe's vocabulary: status open/complete, payment_status
    unpaid/paid)."""

    id: str
    token: str
    payment_id: str
    account_id: str
    amount_minor: int
    currency: str
    success_url: str
    cancel_url: str
    status: str
    payment_status: str
    charge_id: str | None
    declined: bool
    expires_at: datetime


def checkout_from(row: Any) -> SandboxCheckout:
    return SandboxCheckout(
        id=row.id,
        token=row.token,
        payment_id=row.payment_id,
        account_id=row.account_id,
        amount_minor=int(row.amount_minor),
        currency=row.currency,
        success_url=row.success_url,
        cancel_url=row.cancel_url,
        status=row.status,
        payment_status=row.payment_status,
        charge_id=row.charge_id,
        declined=bool(row.declined),
        expires_at=row.expires_at,
    )


class SandboxProvider:
    name = "sandbox"

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, webhook_secret: str, tolerance: int) -> None:
        self._sessions = sessions
        self._secret = webhook_secret
        self._tolerance = tolerance

    async def create_checkout(self, request: CheckoutRequest) -> Checkout:
        async with self._sessions() as db, db.begin():
            # Idempotent on our payment id, as Stripe is on the idempotency key.
            existing = (
                await db.execute(select(sandbox_checkout).where(sandbox_checkout.c.payment_id == request.payment_id))
            ).first()
            if existing is not None:
                return Checkout(existing.id, checkout_path(existing.token))
            now = datetime.now(UTC)
            session_id, token = f"cs_sandbox_{secrets.token_hex(12)}", secrets.token_urlsafe(32)
            row = {
                "id": session_id,
                "token": token,
                "payment_id": request.payment_id,
                "account_id": request.account_id,
                "amount_minor": request.amount_minor,
                "currency": request.currency,
                "success_url": request.success_url,
                "cancel_url": request.cancel_url,
                "status": "open",
                "payment_status": "unpaid",
                "declined": False,
                "created_at": now,
                "expires_at": now + CHECKOUT_LIFETIME,
            }
            await db.execute(sandbox_checkout.insert().values(**row))
        return Checkout(session_id, checkout_path(token))

    async def outcome_of(self, session_id: str) -> Outcome:
        async with self._sessions() as db:
            row = (await db.execute(select(sandbox_checkout).where(sandbox_checkout.c.id == session_id))).first()
        if row is None:
            return Outcome(session_id, PaymentStatus.PENDING)
        found = checkout_from(row)
        return outcome_of_session(session_view(found), _event_type(found))

    def read_webhook(self, payload: bytes, signature: str | None) -> Outcome | None:
        return read_session_webhook(payload, signature, secret=self._secret, tolerance=self._tolerance)

    async def close(self) -> None:
        return None

    # --- the provider's side: the checkout page -----------------------------
    async def checkout(self, token: str) -> SandboxCheckout | None:
        """The session behind a checkout page's token, or None."""
        async with self._sessions() as db:
            row = (await db.execute(select(sandbox_checkout).where(sandbox_checkout.c.token == token))).first()
        return None if row is None else checkout_from(row)

    async def pay(self, token: str, card_number: str) -> Notification | None:
        """Charge the card; None when the session is not open any more (paid, declined or expired)."""
        card = "".join(card_number.split())
        if card not in (SUCCEEDING_CARD, DECLINED_CARD):
            raise UnknownCard(card)
        async with self._sessions() as db, db.begin():
            query = select(sandbox_checkout).where(sandbox_checkout.c.token == token).with_for_update()
            row = (await db.execute(query)).first()
            if row is None or row.status != "open" or row.expires_at < datetime.now(UTC):
                return None
            paid = card == SUCCEEDING_CARD
            await db.execute(
                update(sandbox_checkout)
                .where(sandbox_checkout.c.id == row.id)
                .values(
                    status="complete",
                    payment_status="paid" if paid else "unpaid",
                    declined=not paid,
                    charge_id=f"ch_sandbox_{secrets.token_hex(12)}" if paid else None,
                )
            )
            charged = checkout_from(
                (await db.execute(select(sandbox_checkout).where(sandbox_checkout.c.id == row.id))).one()
            )
        event = {
            "id": f"evt_sandbox_{secrets.token_hex(12)}",
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "type": _event_type(charged) or "checkout.session.completed",
            "data": {"object": session_view(charged)},
        }
        payload = json.dumps(event, separators=(",", ":")).encode()
        # Back to the UI whatever the card did: the page there reads the payment's status.
        return Notification(payload, signature_header(payload, secret=self._secret), charged.success_url)


def checkout_path(token: str) -> str:
    """Relative to the gateway, so the link works on any host and port (DESIGN §9)."""
    return f"/sandbox/checkout/{token}"


def session_view(checkout: SandboxCheckout) -> dict[str, Any]:
    """The session as Stripe would describe it."""
    expired = checkout.status == "open" and checkout.expires_at < datetime.now(UTC)
    return {
        "id": checkout.id,
        "object": "checkout.session",
        "mode": "payment",
        "status": "expired" if expired else checkout.status,
        "payment_status": checkout.payment_status,
        "amount_total": checkout.amount_minor,
        "currency": checkout.currency.lower(),
        "client_reference_id": checkout.payment_id,
        "metadata": {"payment_id": checkout.payment_id, "account_id": checkout.account_id},
        "payment_intent": checkout.charge_id,
    }


def _event_type(checkout: SandboxCheckout) -> str | None:
    return "checkout.session.async_payment_failed" if checkout.declined else None
