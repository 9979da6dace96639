"""The words the event contract shares with the services' domains, written once: the events' models
(`models.py`) type their fields with them, and the producing and consuming services' rules, check
constraints and API fields derive from the same enums (a service's own words stay in its `domain/`)."""

from __future__ import annotations

from enum import StrEnum


# --- auth ------------------------------------------------------------------
class AccountRole(StrEnum):
    """What an administrator may make a user of their account."""

    ADMIN = "admin"
    USER = "user"


class RevocationReason(StrEnum):
    LOGOUT = "logout"
    DEACTIVATED = "deactivated"
    REFRESH_TOKEN_REUSE = "refresh_token_reuse"  # noqa: S105 (a reason, not a secret)
    TOTP_RESET = "totp_reset"


# --- billing ---------------------------------------------------------------
class DecisionKind(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class OrderStatus(StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"


class PaymentMethod(StrEnum):
    """How an order was paid: from credits, or online (a payment that credited them first)."""

    CREDITS = "credits"
    ONLINE = "online"


class PaymentStatus(StrEnum):
    """An online payment's status, and what a provider says of a checkout (the same words)."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"


class EntryKind(StrEnum):
    """What a ledger entry applies; its reference names the payment, approval or order."""

    ONLINE_PAYMENT = "online_payment"
    OFFLINE_PAYMENT = "offline_payment"
    ORDER = "order"
    ADJUSTMENT = "adjustment"


# --- invoicing -------------------------------------------------------------
class DocumentKind(StrEnum):
    """Each kind has its own number series (and prefix)."""

    INVOICE = "invoice"
    RECEIPT = "receipt"


class DocumentStatus(StrEnum):
    """An invoice is due until its order is paid; a receipt is paid when issued. Never back to due."""

    DUE = "due"
    PAID = "paid"
