"""A pydantic model for every event in the catalogue of DESIGN.md §3.

The AsyncAPI document (docs/asyncapi.yaml) is generated from this table, so the
table is the one place an event's shape is written down.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tollgate_shared.fields import Timestamp
from tollgate_shared.money import Money, PositiveMoney


class EventData(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


# --- auth -----------------------------------------------------------------
class AccountCreated(EventData):
    account_id: str
    account_name: str
    admin_user_id: str


class UserCreated(EventData):
    user_id: str
    role: Literal["admin", "user"]


class SecurityPolicyChanged(EventData):
    enforce_totp: bool
    changed_by: str


class TotpEnrolled(EventData):
    user_id: str


class LoginSucceeded(EventData):
    user_id: str
    ip: str
    amr: list[str]


class LoginFailed(EventData):
    user_id: str | None = Field(description="null when the email is unknown")
    ip: str
    reason: str


class IpRule(BaseModel):
    id: str
    user_id: str | None = Field(description="null: the rule applies to all users")
    start_ip: str
    end_ip: str
    description: str = ""
    enabled: bool


class IpRulesChanged(EventData):
    account_id: str
    rules: list[IpRule]
    revision: int = Field(ge=0, description="newer revisions replace older ones")


class SessionRevoked(EventData):
    session_id: str
    user_id: str
    reason: Literal["logout", "deactivated", "refresh_token_reuse", "totp_reset"]


# --- billing --------------------------------------------------------------
class BuyerSnapshot(BaseModel):
    legal_name: str
    address: str
    state: str
    gstin: str | None = None


class PaymentSucceeded(EventData):
    payment_id: str
    amount: PositiveMoney
    currency: str
    provider: str
    provider_reference: str
    paid_at: Timestamp
    buyer: BuyerSnapshot | None = None


class PaymentFailed(EventData):
    payment_id: str
    amount: PositiveMoney
    currency: str
    provider: str
    status: Literal["failed", "expired"]
    reason: str = ""


class OfflinePaymentSubmitted(EventData):
    offline_payment_id: str
    amount: PositiveMoney
    currency: str
    mode: str
    reference: str
    paid_on: date
    bank: str | None = None
    note: str | None = None
    submitted_by: str


class OfflinePaymentDecided(EventData):
    offline_payment_id: str
    decision: Literal["approve", "reject"]
    amount: PositiveMoney | None = Field(
        default=None,
        description="approve only: the amount that arrived, never more than submitted; another needs a reason",
    )
    reason: str | None = None
    decided_by: str


class OfflinePaymentApproved(EventData):
    offline_payment_id: str
    amount: PositiveMoney
    currency: str
    mode: str
    reference: str
    paid_on: date
    bank: str | None = None
    approved_by: str
    buyer: BuyerSnapshot | None = None


class OfflinePaymentRejected(EventData):
    offline_payment_id: str
    reason: str
    rejected_by: str = Field(
        description="who decided; `billing` when an approval could not be credited (the reason says why)"
    )


class CreditsAdded(EventData):
    amount: PositiveMoney
    balance: Money
    currency: str
    source: Literal["online_payment", "offline_payment", "adjustment"]
    reference: str


class BalanceLow(EventData):
    balance: Money
    low_balance_threshold: Money
    currency: str


class OrderLine(BaseModel):
    description: str
    sac: str
    quantity: int = Field(ge=1)
    unit_price: Money
    taxable_value: Money
    cgst: Money
    sgst: Money
    igst: Money
    total: Money
    # Percentages applied to the taxable value (absent on orders placed before rates were recorded).
    cgst_rate: Decimal | None = None
    sgst_rate: Decimal | None = None
    igst_rate: Decimal | None = None


class TaxSplit(BaseModel):
    cgst: Money
    sgst: Money
    igst: Money


class OrderPlaced(EventData):
    order_id: str
    status: Literal["paid", "awaiting_payment"]
    currency: str
    lines: list[OrderLine]
    subtotal: Money
    tax: TaxSplit
    total: Money
    buyer: BuyerSnapshot
    place_of_supply: str


class OrderPaid(OrderPlaced):
    method: Literal["credits", "online"]
    paid_at: Timestamp
    payment_reference: str


# --- invoicing ------------------------------------------------------------
class InvoiceIssued(EventData):
    invoice_id: str
    number: str
    kind: Literal["invoice", "receipt"]
    order_id: str | None
    total: Money
    status: Literal["due", "paid"]


class InvoicePaid(EventData):
    invoice_id: str
    number: str
    order_id: str | None


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
