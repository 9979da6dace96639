"""Stripe Checkout through the official SDK: sessions in payment mode, signed webhooks, recheck.

The client talks to `TOLLGATE_STRIPE_API_BASE` (Stripe itself in production, a
local stand-in in the tests) with aiohttp, so no call blocks the event loop.
"""

from __future__ import annotations

import logging
from typing import Any

import stripe

from billing.adapters.signed_webhooks import API_VERSION, read_session_webhook
from billing.domain.payments import (
    Checkout,
    CheckoutRequest,
    Outcome,
    PaymentStatus,
    ProviderUnavailable,
    outcome_of_session,
)

log = logging.getLogger(__name__)


class StripeProvider:
    name = "stripe"

    def __init__(
        self, *, secret_key: str, webhook_secret: str, api_base: str, webhook_tolerance: int, timeout: float = 20
    ) -> None:
        self._http = stripe.AIOHTTPClient(timeout=timeout)
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base},
            http_client=self._http,
            stripe_version=API_VERSION,
            max_network_retries=2,  # the SDK retries only what is safe: idempotent keys, connection errors
        )
        self._webhook_secret = webhook_secret
        self._tolerance = webhook_tolerance

    async def create_checkout(self, request: CheckoutRequest) -> Checkout:
        metadata = {"payment_id": request.payment_id, "account_id": request.account_id}
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": request.currency.lower(),
                        "unit_amount": request.amount_minor,
                        "product_data": {"name": request.description},
                    },
                }
            ],
            "client_reference_id": request.payment_id,
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
        }
        try:
            # Our payment id as the idempotency key: a retried create never opens a second session.
            session = await self._client.v1.checkout.sessions.create_async(
                params,  # type: ignore[arg-type]
                options={"idempotency_key": request.payment_id},
            )
        except stripe.StripeError as exc:
            log.error("stripe refused the checkout of payment %s: %s", request.payment_id, type(exc).__name__)
            raise ProviderUnavailable("Stripe did not open a checkout.") from None
        if not session.url:
            raise ProviderUnavailable("Stripe opened a checkout without a page.")
        return Checkout(session_id=session.id, redirect_url=session.url)

    async def outcome_of(self, session_id: str) -> Outcome:
        try:
            session = (await self._client.v1.checkout.sessions.retrieve_async(session_id)).to_dict()
            intent = session.get("payment_intent")
            if isinstance(intent, str):
                # The PaymentIntent says whether a delayed payment failed, and names the money for receipts.
                found = (await self._client.v1.payment_intents.retrieve_async(intent)).to_dict()
                if found.get("status") == "canceled" and session.get("payment_status") != "paid":
                    return Outcome(
                        session_id, PaymentStatus.FAILED, reference=intent, reason="the payment was cancelled"
                    )
        except stripe.StripeError as exc:
            log.error("stripe did not answer about session %s: %s", session_id, type(exc).__name__)
            raise ProviderUnavailable("Stripe did not answer.") from None
        return outcome_of_session(session)

    def read_webhook(self, payload: bytes, signature: str | None) -> Outcome | None:
        return read_session_webhook(payload, signature, secret=self._webhook_secret, tolerance=self._tolerance)

    async def close(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]
