"""CORS: off unless `TOLLGATE_CORS_ORIGINS` names the origins a browser may call from."""

from __future__ import annotations

from starlette.types import Message, Scope, Send

ALLOWED_METHODS = b"GET, POST, PUT, PATCH, DELETE"
ALLOWED_HEADERS = b"authorization, content-type, idempotency-key, x-csrf-token, x-request-id"
MAX_AGE = b"600"


def origin_of(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"origin":
            return bytes(value)
    return None


def is_preflight(scope: Scope) -> bool:
    return scope["method"] == "OPTIONS" and any(
        name == b"access-control-request-method" for name, _ in scope["headers"]
    )


async def answer_preflight(send: Send, origin: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 204,
            "headers": [
                (b"access-control-allow-origin", origin),
                (b"access-control-allow-credentials", b"true"),
                (b"access-control-allow-methods", ALLOWED_METHODS),
                (b"access-control-allow-headers", ALLOWED_HEADERS),
                (b"access-control-max-age", MAX_AGE),
                (b"vary", b"Origin"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})


def with_cors(send: Send, origin: bytes) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            extra = [
                (b"access-control-allow-origin", origin),
                (b"access-control-allow-credentials", b"true"),
                (b"vary", b"Origin"),
            ]
            message = {**message, "headers": [*message["headers"], *extra]}
        await send(message)

    return wrapped
