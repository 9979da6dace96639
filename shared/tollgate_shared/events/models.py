"""The data of every event in the catalogue of DESIGN.md §3, one pydantic model per event type
(`catalogue.py` maps each to its type, producer and consumers)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tollgate_shared.events.vocabulary import (
    AccountRole,
    DecisionKind,
    DocumentKind,
    DocumentStatus,
    EntryKind,
    OrderStatus,
    PaymentMethod,
    PaymentStatus,
    RevocationReason,
)
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
    role: AccountRole


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
    reason: RevocationReason


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
    status: Literal[PaymentStatus.FAILED, PaymentStatus.EXPIRED]
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
    decision: DecisionKind
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
    source: Literal[EntryKind.ONLINE_PAYMENT, EntryKind.OFFLINE_PAYMENT, EntryKind.ADJUSTMENT]
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
    status: OrderStatus
    currency: str
    lines: list[OrderLine]
    subtotal: Money
    tax: TaxSplit
    total: Money
    buyer: BuyerSnapshot
    place_of_supply: str


class OrderPaid(OrderPlaced):
    method: PaymentMethod
    paid_at: Timestamp
    payment_reference: str


# --- invoicing ------------------------------------------------------------
class InvoiceIssued(EventData):
    invoice_id: str
    number: str
    kind: DocumentKind
    order_id: str | None
    total: Money
    status: DocumentStatus


class InvoicePaid(EventData):
    invoice_id: str
    number: str
    order_id: str | None
