"""The reaction to `auth.account.created`: the account's wallet opened, and its name on record."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from billing.use_cases.apply_to_wallet import locked_wallet
from billing.use_cases.profiles import name_account
from tollgate_shared.events import Envelope
from tollgate_shared.events.models import AccountCreated


async def open_wallet(session: AsyncSession, event: Envelope, *, currency: str) -> None:
    """A new account gets an empty wallet in the platform's currency, and its name on record."""
    data = AccountCreated.model_validate(event.data)
    await locked_wallet(session, data.account_id, currency=currency)
    # Invoices name the account until an administrator sets a billing profile.
    await name_account(session, data.account_id, data.account_name)
