"""Calling auth from inside the platform: signed like any request through the gateway.

The gateway and the services fetch auth's public keys (and the gateway its
rule snapshots) this way; several auth replicas are tried in turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import aiohttp
from fastapi import Depends, Request

from tollgate_shared.access_tokens import Principal
from tollgate_shared.callers import authenticate
from tollgate_shared.edge import EDGE_HEADER, sign_edge
from tollgate_shared.errors import DomainError
from tollgate_shared.jwks import JwksCache

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


def auth_jwks(session: aiohttp.ClientSession, bases: Sequence[str], *, key: bytes, caller: str) -> JwksCache:
    """The JWKS cache of a service or gateway, fed from auth's `/api/auth/jwks.json`."""
    return JwksCache(lambda: fetch_signed_json(session, bases, "/api/auth/jwks.json", key=key, caller=caller))


async def verify_tokens_with_auth(app: Any, runtime: Any) -> None:
    """`on_startup` of a service that verifies access tokens: `app.state.jwks`, fed from auth."""
    session = aiohttp.ClientSession()
    settings = runtime.settings
    app.state.jwks = auth_jwks(
        session, settings.auth_urls, key=settings.internal_key.get_secret_value().encode(), caller=settings.service_name
    )
    runtime.cleanups.append(session.close)


class AccountRequired(DomainError):
    status, code, title = 403, "account_required", "Only users of an account may do this"


async def account_user(request: Request) -> Principal:
    """A FastAPI dependency: the verified user of an account (staff belong to none)."""
    jwks: JwksCache = request.app.state.jwks
    principal = await authenticate(request, jwks.verify)
    if principal.account_id is None:
        raise AccountRequired()
    return principal


AccountUserDep = Annotated[Principal, Depends(account_user)]
