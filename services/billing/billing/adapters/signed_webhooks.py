"""Webhooks signed the way Stripe signs them, for both providers.

`Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. The
sandbox signs its notifications with the same scheme and its own secret, so
billing has one way in for both: verified here by the Stripe SDK, refused when
unsigned, tampered with or older than the tolerance.
"""

from __future__ import annotations

import logging
from typing import Any

import stripe

from billing.domain.payments import SESSION_EVENTS, BadWebhook, Outcome, outcome_of_session

log = logging.getLogger(__name__)

# The API version requests and webhook endpoints use: the one the SDK pins (DESIGN §9).
API_VERSION = stripe.api_version


def verified_event(payload: bytes, signature: str | None, *, secret: str, tolerance: int) -> dict[str, Any]:
    """The event a correctly signed, fresh webhook carries, as plain data."""
    try:
        event = stripe.Webhook.construct_event(payload.decode("utf-8"), signature, secret, tolerance=tolerance)
    except stripe.SignatureVerificationError as exc:
        # The SDK's message says which check failed (no signature, stale, mismatch); never the secret.
        log.warning("webhook refused: %s", exc.user_message or "bad signature")
        raise BadWebhook("The Stripe-Signature header does not verify.") from None
    except (UnicodeDecodeError, ValueError):
        raise BadWebhook("The body is not a JSON event.") from None
    data: dict[str, Any] = event.to_dict()
    if not isinstance(data.get("type"), str):
        raise BadWebhook("The event has no type.")
    return data


def read_session_webhook(payload: bytes, signature: str | None, *, secret: str, tolerance: int) -> Outcome | None:
    """The checkout outcome a signed webhook reports; None for events billing does not act on."""
    event = verified_event(payload, signature, secret=secret, tolerance=tolerance)
    if event["type"] not in SESSION_EVENTS:
        return None
    data = event.get("data")
    session = data.get("object") if isinstance(data, dict) else None
    if not isinstance(session, dict) or not session.get("id"):
        raise BadWebhook("The event carries no checkout session.")
    if event.get("api_version") not in (None, API_VERSION):
        # Fields can change meaning between versions: the endpoint must be set to the SDK's version.
        log.error("webhook %s has API version %s, expected %s", event.get("id"), event.get("api_version"), API_VERSION)
    return outcome_of_session(session, event["type"])


def signature_header(payload: bytes, *, secret: str) -> str:
    """The header a provider sends with `payload` (the sandbox's notifications)."""
    header: str = stripe.WebhookSignature.generate_signature_header(payload.decode("utf-8"), secret)
    return header
