"""Who is calling billing: the verified access token (the gateway already checked IP rules and revocation)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from billing.domain.payments import PaymentProvider
from billing.settings import BillingSettings
from tollgate_shared.access_tokens import Principal
from tollgate_shared.callers import authenticate
from tollgate_shared.errors import DomainError
from tollgate_shared.jwks import JwksCache


class AccountRequired(DomainError):
    status, code, title = 403, "account_required", "Only users of an account may do this"


class AdminRequired(DomainError):
    status, code, title = 403, "admin_required", "Only administrators may do this"


async def account_user(request: Request) -> Principal:
    jwks: JwksCache = request.app.state.jwks
    principal = await authenticate(request, jwks.verify)
    if principal.account_id is None:
        raise AccountRequired()
    return principal


async def account_admin(principal: Annotated[Principal, Depends(account_user)]) -> Principal:
    if not principal.is_admin:
        raise AdminRequired()
    return principal


AccountUserDep = Annotated[Principal, Depends(account_user)]
AdminDep = Annotated[Principal, Depends(account_admin)]


def billing_settings(request: Request) -> BillingSettings:
    settings: BillingSettings = request.app.state.runtime.settings
    return settings


def payment_provider(request: Request) -> PaymentProvider:
    provider: PaymentProvider = request.app.state.payment_provider
    return provider


SettingsDep = Annotated[BillingSettings, Depends(billing_settings)]
ProviderDep = Annotated[PaymentProvider, Depends(payment_provider)]
