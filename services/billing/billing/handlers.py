"""What billing does when other services' events arrive (routing as data)."""

import logging
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from billing.domain.ledger import BalanceLimit
from billing.ledger import locked_wallet
from billing.offline_payments import AlreadyDecided, decide
from billing.profiles import upsert_profile
from billing.settings import BillingSettings
from tollgate_shared.bus import PoisonMessage
from tollgate_shared.errors import DomainError
from tollgate_shared.events import Envelope
from tollgate_shared.events.models import AccountCreated, OfflinePaymentDecided
from tollgate_shared.service import Consumers

log = logging.getLogger(__name__)
# Who a decision billing makes itself is recorded as made by.
BILLING = "billing"


async def open_wallet(session: AsyncSession, event: Envelope, *, currency: str) -> None:
    """A new account gets an empty wallet in the platform's currency, and its name on record."""
    data = AccountCreated.model_validate(event.data)
    await locked_wallet(session, data.account_id, currency=currency)
    # Invoices name the account until an administrator sets a billing profile.
    await upsert_profile(session, data.account_id, account_name=data.account_name)


async def apply_finance_decision(session: AsyncSession, event: Envelope, *, settings: BillingSettings) -> None:
    """The finance approval service decided: the same rules as the staff API, through the same function."""
    data = OfflinePaymentDecided.model_validate(event.data)
    try:
        await decide(
            session,
            payment_id=data.offline_payment_id,
            decision=data.decision,
            decided_by=data.decided_by,
            amount=data.amount,
            reason=data.reason,
            settings=settings,
        )
    except AlreadyDecided:
        log.info("offline payment %s was already decided; %s ignored", data.offline_payment_id, event.id)
    except BalanceLimit as exc:
        # Finance cannot be answered 409, and a retry or a parked message would leave the request
        # pending with nobody told: it is rejected saying why (nothing of the approval was written),
        # the user sees the reason and may submit the transfer again once the balance has room.
        reason = f"Approved by {data.decided_by} but not credited: {exc.detail} Submit it again when it fits."
        log.warning(
            "offline payment %s: approval %s refused, recorded as rejected: %s",
            data.offline_payment_id,
            event.id,
            exc.detail,
        )
        await decide(
            session,
            payment_id=data.offline_payment_id,
            decision="reject",
            decided_by=BILLING,
            amount=None,
            reason=reason,
            settings=settings,
        )
    except (DomainError, ValueError) as exc:
        # A decision the rules refuse will not pass on a retry either: park it for an operator.
        raise PoisonMessage(f"decision {event.id} refused: {exc}") from exc


FINANCE_QUEUE = "finance.offline-payments"
DECISIONS_QUEUE = "billing.finance-decisions"
# Queues billing declares for another consumer: the finance approval service reads submissions from this one.
OUTBOUND_QUEUES: dict[str, tuple[str, ...]] = {FINANCE_QUEUE: ("billing.offline_payment.submitted",)}


def event_handlers(settings: BillingSettings) -> Consumers:
    """Queue → event type → handler."""
    return {
        "billing.auth-events": {"auth.account.created": partial(open_wallet, currency=settings.currency)},
        DECISIONS_QUEUE: {"finance.offline_payment.decided": partial(apply_finance_decision, settings=settings)},
    }
