"""The catalogue of DESIGN.md §3: every event type, the model of its data (`models.py`),
who produces it and who consumes it.

The AsyncAPI document (docs/asyncapi.yaml) is generated from this table, so the
table is the one place an event's shape is written down.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from tollgate_shared.events.models import (
    AccountCreated,
    BalanceLow,
    CreditsAdded,
    InvoiceIssued,
    InvoicePaid,
    IpRulesChanged,
    LoginFailed,
    LoginSucceeded,
    OfflinePaymentApproved,
    OfflinePaymentDecided,
    OfflinePaymentRejected,
    OfflinePaymentSubmitted,
    OrderPaid,
    OrderPlaced,
    PaymentFailed,
    PaymentSucceeded,
    SecurityPolicyChanged,
    SessionRevoked,
    TotpEnrolled,
    UserCreated,
)


@dataclass(frozen=True)
class EventSpec:
    model: type[BaseModel]
    producer: str
    consumers: str
    summary: str
    # No service's durable queue takes it, by design (audit trails, notifications nobody sends yet, broadcasts
    # to whichever gateways are up): the broker keeps the newest in the bounded queue `ops.events-archive`,
    # so that `ops.unrouted` receives only what nobody meant (a mistyped key, a consumer that is missing).
    archived: bool = False


CATALOGUE: dict[str, EventSpec] = {
    "auth.account.created": EventSpec(
        AccountCreated, "auth", "billing", "An account and its first administrator were created."
    ),
    "auth.user.created": EventSpec(UserCreated, "auth", "none yet", "A user was added to an account.", archived=True),
    "auth.security_policy.changed": EventSpec(
        SecurityPolicyChanged,
        "auth",
        "none yet (audit consumers)",
        "An account's security policy changed.",
        archived=True,
    ),
    "auth.totp.enrolled": EventSpec(
        TotpEnrolled, "auth", "none yet (audit consumers)", "A user enrolled TOTP.", archived=True
    ),
    "auth.login.succeeded": EventSpec(
        LoginSucceeded, "auth", "none yet (audit consumers)", "A login completed.", archived=True
    ),
    "auth.login.failed": EventSpec(
        LoginFailed, "auth", "none yet (audit consumers)", "A login attempt failed.", archived=True
    ),
    "auth.ip_rules.changed": EventSpec(
        IpRulesChanged,
        "auth",
        "every gateway instance (its own exclusive queue)",
        "An account's IP rules changed; carries all of them.",
        archived=True,
    ),
    "auth.session.revoked": EventSpec(
        SessionRevoked,
        "auth",
        "every gateway, billing and invoicing instance (its own exclusive queue)",
        "A session was revoked; its tokens stop working.",
        archived=True,
    ),
    "billing.payment.succeeded": EventSpec(PaymentSucceeded, "billing", "invoicing", "An online payment succeeded."),
    "billing.payment.failed": EventSpec(
        PaymentFailed, "billing", "none yet", "An online payment failed or expired.", archived=True
    ),
    "billing.offline_payment.submitted": EventSpec(
        OfflinePaymentSubmitted,
        "billing",
        "finance approval service (queue finance.offline-payments)",
        "An offline payment awaits finance's decision.",
    ),
    "finance.offline_payment.decided": EventSpec(
        OfflinePaymentDecided, "finance approval service", "billing", "Finance approved or rejected an offline payment."
    ),
    "billing.offline_payment.approved": EventSpec(
        OfflinePaymentApproved, "billing", "invoicing", "An offline payment was approved and credited."
    ),
    "billing.offline_payment.rejected": EventSpec(
        OfflinePaymentRejected, "billing", "none yet", "An offline payment was rejected.", archived=True
    ),
    "billing.credits.added": EventSpec(
        CreditsAdded, "billing", "none yet (notifications)", "Credits were added to a wallet.", archived=True
    ),
    "billing.balance.low": EventSpec(
        BalanceLow, "billing", "none yet (notifications)", "A balance crossed below its threshold.", archived=True
    ),
    "billing.order.placed": EventSpec(OrderPlaced, "billing", "invoicing", "An order was placed and priced."),
    "billing.order.paid": EventSpec(OrderPaid, "billing", "invoicing", "An order was paid."),
    "invoicing.invoice.issued": EventSpec(
        InvoiceIssued, "invoicing", "none yet", "An invoice or receipt was issued.", archived=True
    ),
    "invoicing.invoice.paid": EventSpec(
        InvoicePaid, "invoicing", "none yet", "An invoice was marked paid.", archived=True
    ),
}


class UnknownEventType(KeyError):
    """An event type that is not in the catalogue."""


def event_model(event_type: str) -> type[BaseModel]:
    try:
        return CATALOGUE[event_type].model
    except KeyError:
        raise UnknownEventType(event_type) from None


_TYPE_OF_MODEL: dict[type[BaseModel], str] = {spec.model: event_type for event_type, spec in CATALOGUE.items()}


def event_type_of(data: BaseModel) -> str:
    """The event type whose data `data` is: every model is the data of exactly one type."""
    try:
        return _TYPE_OF_MODEL[type(data)]
    except KeyError:
        raise UnknownEventType(type(data).__name__) from None
