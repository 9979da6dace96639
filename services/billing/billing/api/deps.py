"""Who is calling billing: the principal the gateway verified (it checked IP rules and revocation; so does billing)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from billing.adapters.account_gate import AccountGate
from billing.domain.payments import PaymentProvider
from billing.settings import BillingSettings
from tollgate_shared.auth_upstream import AccountUser, AccountUserDep
from tollgate_shared.errors import DomainError


class AdminRequired(DomainError):
    status, code, title = 403, "admin_required", "Only administrators may do this"


async def account_admin(caller: AccountUserDep) -> AccountUser:
    if not caller.is_admin:
        raise AdminRequired()
    return caller


AdminDep = Annotated[AccountUser, Depends(account_admin)]


# `async def`: a plain `def` dependency costs a threadpool hop per request.
async def billing_settings(request: Request) -> BillingSettings:
    settings: BillingSettings = request.app.state.runtime.settings
    return settings


async def payment_provider(request: Request) -> PaymentProvider:
    provider: PaymentProvider = request.app.state.payment_provider
    return provider


SettingsDep = Annotated[BillingSettings, Depends(billing_settings)]
ProviderDep = Annotated[PaymentProvider, Depends(payment_provider)]


async def order_gate(request: Request, caller: AccountUserDep) -> AsyncIterator[None]:
    """Inside the account's gate for the request's transaction (billing/adapters/account_gate.py)."""
    gate: AccountGate = request.app.state.account_gate
    async with gate.entered(caller.account_id):
        yield


# Declared before the session: dependencies end in reverse, so the gate is left
# once the transaction has committed (and its wallet lock is released).
OrderGateDep = Annotated[None, Depends(order_gate, scope="function")]
