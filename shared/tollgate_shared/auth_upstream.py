"""Calling auth from inside the platform, signed like any request through the gateway;
and who is calling a service that is not auth.

The gateway fetches auth's public keys and rule snapshots this way, and billing and
invoicing the sessions auth revoked; several auth replicas are tried in turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import aiohttp
from fastapi import Depends, FastAPI, Request

from tollgate_shared.callers import live_principal
from tollgate_shared.edge import EDGE_HEADER, sign_edge
from tollgate_shared.errors import DomainError
from tollgate_shared.revocations import RevocationFeed, RevokedSessions

if TYPE_CHECKING:
    from tollgate_shared.service import Runtime

TIMEOUT = aiohttp.ClientTimeout(total=5)


async def fetch_signed_json(
    session: aiohttp.ClientSession, bases: Sequence[str], path: str, *, key: bytes, caller: str
) -> dict[str, Any]:
    """GET `path` from the first auth replica that answers."""
    last_error: Exception | None = None
    for base in bases:
        signature = sign_edge(key, method="GET", path=path, client_ip="127.0.0.1", request_id=f"internal-{caller}")
        try:
            async with session.get(
                base.rstrip("/") + path, headers={EDGE_HEADER: signature}, timeout=TIMEOUT
            ) as answer:
                answer.raise_for_status()
                body: dict[str, Any] = await answer.json()
                return body
        except (aiohttp.ClientError, TimeoutError) as exc:
            last_error = exc
    raise ConnectionError(f"auth unreachable for {path}: {last_error!r}")


async def follow_revocations(app: FastAPI, runtime: Runtime) -> None:
    """`on_startup` of a service with callers (billing, invoicing): `app.state.revocations`,
    the sessions auth revoked, kept current from auth's snapshot and its events."""
    settings = runtime.settings
    session = aiohttp.ClientSession()
    key = settings.internal_key.get_secret_value().encode()

    async def fetch(path: str) -> dict[str, Any]:
        return await fetch_signed_json(session, settings.auth_urls, path, key=key, caller=settings.service_name)

    revoked = RevokedSessions(remember_seconds=settings.access_token_minutes * 60 + 60)
    feed = RevocationFeed(settings.service_name, revoked, fetch)
    runtime.bus.subscribe(feed.subscription())
    runtime.bus.on_reconnect(feed.on_reconnect)
    runtime.tasks.append(asyncio.create_task(feed.keep_in_sync(), name=f"{settings.service_name}-revocations"))
    app.state.revocations = feed
    runtime.cleanups.append(session.close)


class AccountRequired(DomainError):
    status, code, title = 403, "account_required", "Only users of an account may do this"


@dataclass(frozen=True)
class AccountUser:
    """A verified user of an account: unlike a `Principal` (staff belong to none), `account_id` is always set."""

    user_id: str
    account_id: str
    roles: tuple[str, ...]
    session_id: str

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


async def account_user(request: Request) -> AccountUser:
    """A FastAPI dependency: the verified user of an account, or 403 `account_required`."""
    principal = await live_principal(request)
    if principal.account_id is None:
        raise AccountRequired()
    return AccountUser(principal.user_id, principal.account_id, principal.roles, principal.session_id)


AccountUserDep = Annotated[AccountUser, Depends(account_user)]
