"""What billing does when other services' events arrive (routing as data)."""

from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from billing.ledger import locked_wallet
from billing.profiles import upsert_profile
from billing.settings import BillingSettings
from tollgate_shared.events import Envelope
from tollgate_shared.events.catalogue import AccountCreated
from tollgate_shared.service import Consumers


async def open_wallet(session: AsyncSession, event: Envelope, *, currency: str) -> None:
    """A new account gets an empty wallet in the platform's currency, and its name on record."""
    data = AccountCreated.model_validate(event.data)
    await locked_wallet(session, data.account_id, currency=currency)
    # Invoices name the account until an administrator sets a billing profile.
    await upsert_profile(session, data.account_id, account_name=data.account_name)


def event_handlers(settings: BillingSettings) -> Consumers:
    """Queue → event type → handler."""
    return {
        "billing.auth-events": {"auth.account.created": partial(open_wallet, currency=settings.currency)},
    }
