"""Control characters are refused where text cannot hold them: JSON body strings, path and query parameters.

PostgreSQL cannot store NUL in text (a NUL in a login's email answered 500),
and the other C0 and C1 controls, DEL and lone surrogates are no text a person
types or a document can print. Tab, newline and carriage return stay: free
text (an address, a note) has lines. A request holding one is answered 422
naming each field where it is, as schema errors are, before any route runs.

A clean request costs a few byte searches: the path is searched as it is, the
query only when it has a percent escape or non-ASCII bytes, and a JSON body is
parsed again and walked only when its raw bytes could hide a control (a `\\u`
escape, a raw DEL, or a UTF-8 lead byte of C1 controls).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import parse_qsl

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tollgate_shared.errors import field_error, invalid_fields_response

FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
"""C0 controls but tab, newline and carriage return; DEL; C1 controls; halves of surrogate pairs."""

CONTROL_CHARACTER = "control_character"  # the `type` of its 422 errors


def _may_hide_a_control(body: bytes) -> bool:
    # json.loads refuses raw C0 controls in strings (400 malformed JSON); the rest
    # arrive escaped (\u0000, \ud800), as a raw DEL, or as C1 in UTF-8 (C2 80 to C2 9F).
    # A zero byte means UTF-16 or UTF-32, which json.loads decodes too: scan those whole.
    return b"\\u" in body or b"\x7f" in body or b"\xc2" in body or b"\x00" in body


def _message(text: str) -> str:
    found = FORBIDDEN.search(text)
    assert found is not None
    code = f"U+{ord(found.group()):04X}"
    if found.group() >= "\ud800":
        return f"must not contain {code} (half of a surrogate pair)"
    return f"must not contain the control character {code}"


def _name(*parts: object) -> str:
    # A field's own name may hold the character: say it as an escape, never raw.
    return ".".join(FORBIDDEN.sub(lambda m: f"\\u{ord(m.group()):04x}", str(part)) for part in parts) or "body"


def in_json(value: object, *where: object) -> Iterator[dict[str, str]]:
    """`{field, message}` for every string (object keys too) in `value` holding a forbidden character."""
    if isinstance(value, str):
        if FORBIDDEN.search(value):
            yield field_error(_name(*where), _message(value), CONTROL_CHARACTER)
    elif isinstance(value, dict):
        for key, item in value.items():
            if FORBIDDEN.search(key):
                yield field_error(_name(*where, key), _message(key), CONTROL_CHARACTER)
            yield from in_json(item, *where, key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from in_json(item, *where, index)


def in_query(query_string: bytes) -> list[dict[str, str]]:
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)  # as Starlette reads them
    return [
        field_error(_name("query", key), _message(key + value), CONTROL_CHARACTER)
        for key, value in pairs
        if FORBIDDEN.search(key + value)
    ]


class ControlCharacterGuard:
    """Pure ASGI: answers 422 for a request with control characters in its parameters or JSON body.

    `routes` are the service's own (its routers' routes, as they were declared):
    they name the path parameters and say which bodies are JSON fields.
    """

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        first, body = await _read_body(receive)
        errors = self._errors(scope, body)
        if errors:
            await invalid_fields_response(errors)(scope, receive, send)
            return
        await self.app(scope, _replay(first, receive), send)

    def _errors(self, scope: Scope, body: bytes) -> list[dict[str, str]]:
        """The fields of the request that hold a control character (cheap tests first)."""
        errors: list[dict[str, str]] = []
        route: Any = None
        if FORBIDDEN.search(scope["path"]):
            route, path_params = self._route(scope)
            errors += _in_path(path_params)
        query = scope["query_string"]
        if query and (b"%" in query or not query.isascii()):
            errors += in_query(query)
        if body and _may_hide_a_control(body):
            if route is None:
                route = self._route(scope)[0]
            errors += _in_json_body(route, body)
        return errors

    def _route(self, scope: Scope) -> tuple[Any, dict[str, Any]]:
        """The route that will answer, and its path parameters (only looked up when something is suspect)."""
        for route in self.routes:
            match, child = route.matches(scope)
            if match == Match.FULL:
                return route, child.get("path_params", {})
        return None, {}


def _in_path(path_params: dict[str, Any]) -> list[dict[str, str]]:
    return [
        field_error(_name("path", name), _message(value), CONTROL_CHARACTER)
        for name, value in path_params.items()
        if isinstance(value, str) and FORBIDDEN.search(value)
    ]


def _in_json_body(route: Any, body: bytes) -> list[dict[str, str]]:
    # Only bodies a route reads as JSON fields: a webhook's or a form's raw bytes are its own business.
    if not isinstance(route, APIRoute) or route.body_field is None:
        return []
    try:
        parsed = json.loads(body)
    except ValueError:
        return []  # FastAPI answers it as malformed
    return list(in_json(parsed))


async def _read_body(receive: Receive) -> tuple[Message, bytes]:
    """The first message and the whole body (services take small bodies; the gateway limits them)."""
    first = await receive()
    if first["type"] != "http.request" or not first.get("more_body", False):
        return first, first.get("body", b"")
    chunks = [first.get("body", b"")]
    message = first
    while message.get("more_body", False):
        message = await receive()
        if message["type"] != "http.request":
            return message, b""  # the client left
        chunks.append(message.get("body", b""))
    body = b"".join(chunks)
    return {"type": "http.request", "body": body, "more_body": False}, body


def _replay(first: Message, receive: Receive) -> Receive:
    """`receive` that hands out the body already read, then what the server says next."""
    pending: Message | None = first

    async def replayed() -> Message:
        nonlocal pending
        if pending is None:
            return await receive()
        message, pending = pending, None
        return message

    return replayed
