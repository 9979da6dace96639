"""Requests straight to the auth service, signed as the gateway signs them (DESIGN.md §9)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp

from tests.support.harness import principal_of
from tollgate_shared.edge import EDGE_HEADER, sign_edge


class UnexpectedAnswer(Exception):
    """The service answered something a successful step never answers."""


@dataclass
class Answer:
    status: int
    body: dict[str, Any]


class SignedClient:
    """One shared aiohttp session; every request carries a fresh edge signature.

    No cookie jar: the bench authenticates as the gateway forwards an API
    client's bearer token (the caller in the edge header), and the service's
    `Secure` cookies are not for plain-HTTP loopback anyway.
    """

    def __init__(self, base_url: str, internal_key: str, *, connections: int, timeout: float = 60.0) -> None:
        self.base_url = base_url
        self.key = internal_key.encode()
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections, limit_per_host=connections),
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=timeout),
        )

    async def close(self) -> None:
        await self.session.close()

    async def __aenter__(self) -> SignedClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def headers(self, method: str, path: str, *, client_ip: str, token: str | None) -> dict[str, str]:
        # The services learn the caller only from the edge header: name the token's holder there.
        signature = sign_edge(
            self.key,
            method=method,
            path=path,
            client_ip=client_ip,
            request_id=uuid.uuid4().hex,
            principal=principal_of(token) if token else None,
        )
        return {EDGE_HEADER: signature, "content-type": "application/json"}

    async def call(
        self, method: str, path: str, body: dict[str, Any], *, client_ip: str, token: str | None = None
    ) -> Answer:
        headers = self.headers(method, path, client_ip=client_ip, token=token)
        async with self.session.request(
            method, self.base_url + path, data=json.dumps(body), headers=headers
        ) as response:
            raw = await response.read()
        try:
            parsed = json.loads(raw) if raw else {}
        except ValueError:
            parsed = {"raw": raw[:200].decode(errors="replace")}
        return Answer(response.status, parsed if isinstance(parsed, dict) else {"value": parsed})

    async def expect(
        self,
        method: str,
        path: str,
        body: dict[str, Any],
        *,
        client_ip: str,
        token: str | None = None,
        status: int = 200,
        answer_status: str | None = None,
    ) -> dict[str, Any]:
        """`call`, failing unless the HTTP status (and the body's `status`, if given) are as expected."""
        answer = await self.call(method, path, body, client_ip=client_ip, token=token)
        if answer.status != status or (answer_status is not None and answer.body.get("status") != answer_status):
            wanted = f"{status}" + (f" {answer_status}" if answer_status else "")
            raise UnexpectedAnswer(f"{method} {path}: wanted {wanted}, got {answer.status} {answer.body}")
        return answer.body
