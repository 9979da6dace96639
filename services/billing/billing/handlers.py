"""What billing does when other services' events arrive (routing as data)."""

from datetime import UTC, datetime
from functools import partial

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billing.adapters.tables import wallet
from billing.settings import BillingSettings
from tollgate_shared.events import Envelope
from tollgate_shared.events.catalogue import AccountCreated
from tollgate_shared.service import Consumers


async def open_wallet(session: AsyncSession, event: Envelope, *, currency: str) -> None:
    """A new account gets an empty wallet in the platform's currency."""
    data = AccountCreated.model_validate(event.data)
    exists = await session.execute(select(wallet.c.account_id).where(wallet.c.account_id == data.account_id))
    if exists.first() is None:
        await session.execute(
            wallet.insert().values(
                account_id=data.account_id, currency=currency, balance_minor=0, created_at=datetime.now(UTC)
            )
        )


def event_handlers(settings: BillingSettings) -> Consumers:
    """Queue → event type → handler."""
    return {
        "billing.auth-events": {"auth.account.created": partial(open_wallet, currency=settings.currency)},
    }
