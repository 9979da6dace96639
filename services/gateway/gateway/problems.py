"""Problem details answered by the gateway itself, at the ASGI level."""

from __future__ import annotations

import json
from http import HTTPStatus

from starlette.types import Send

from gateway.headers import SECURITY_HEADERS
from tollgate_shared.errors import PROBLEM_CONTENT_TYPE, problem_type
from tollgate_shared.no_store import NO_STORE


async def send_problem(
    send: Send,
    status: int,
    code: str,
    detail: str,
    request_id: str,
    headers: list[tuple[bytes, bytes]] | None = None,
    *,
    title: str | None = None,
    fields: tuple[tuple[str, str], ...] = (),
) -> None:
    """A problem details answer; `title` defaults to the status's phrase, `fields` are extension members."""
    body = json.dumps(
        {
            "type": problem_type(code),
            "title": title or HTTPStatus(status).phrase,
            "status": status,
            "code": code,
            "detail": detail,
            **dict(fields),
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_CONTENT_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id.encode()),
                *SECURITY_HEADERS,
                NO_STORE,
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
