"""`Cache-Control: no-store` on every answer of the API (DESIGN §10).

What the API answers is one caller's data as it is now (balances, sessions,
invoices): no browser, proxy or CDN may keep a copy, whatever a route said.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

NO_STORE = (b"cache-control", b"no-store")


def with_no_store(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`headers` with `Cache-Control: no-store` in place of any other caching rule."""
    return [*(header for header in headers if header[0].lower() != b"cache-control"), NO_STORE]


class NoStoreMiddleware:
    """Pure ASGI: every answer says `Cache-Control: no-store`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = with_no_store(list(message.get("headers", ())))
            await send(message)

        await self.app(scope, receive, send_no_store)
