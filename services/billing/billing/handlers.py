"""What billing does when other services' events arrive (routing as data)."""

from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from billing.ledger import locked_wallet
from billing.settings import BillingSettings
from tollgate_shared.events import Envelope
from tollgate_shared.events.catalogue import AccountCreated
from tollgate_shared.service import Consumers


async def open_wallet(session: AsyncSession, event: Envelope, *, currency: str) -> None:
    """A new account gets an empty wallet in the platform's currency."""
    data = AccountCreated.model_validate(event.data)
    await locked_wallet(session, data.account_id, currency=currency)


def event_handlers(settings: BillingSettings) -> Consumers:
    """Queue → event type → handler."""
    return {
        "billing.auth-events": {"auth.account.created": partial(open_wallet, currency=settings.currency)},
    }
