"""One HTTP request through an ASGI app, without a server (unit tests)."""

from __future__ import annotations

import httpx
from starlette.types import ASGIApp


async def request(
    app: ASGIApp, method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None
) -> httpx.Response:
    """Like TestClient(raise_server_exceptions=False): a 500 is an answer, not an exception."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.request(method, path, content=body, headers=headers)
