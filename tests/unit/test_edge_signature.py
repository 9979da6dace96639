"""Services believe the client address and request id only when the gateway signed them."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import pytest
from fastapi import FastAPI, Request
from starlette.types import ASGIApp

from tests.support.asgi import request
from tollgate_shared.access_tokens import Principal
from tollgate_shared.edge import (
    EDGE_HEADER,
    BadEdgeSignature,
    EdgeContext,
    EdgeSignatureMiddleware,
    encode_principal,
    sign_edge,
    verify_edge,
)
from tollgate_shared.errors import PROBLEM_CONTENT_TYPE

KEY = b"internal-key-shared-by-the-platform"
NOW = 1_750_000_000.0


def signed(**overrides: Any) -> str:
    fields: dict[str, Any] = {
        "method": "POST",
        "path": "/api/billing/orders",
        "client_ip": "203.0.113.7",
        "request_id": "req-1",
        "now": NOW,
    }
    fields.update(overrides)
    header: str = sign_edge(KEY, **fields)
    return header


def verify(
    header: str, *, key: bytes = KEY, method: str = "POST", path: str = "/api/billing/orders", now: float = NOW
) -> EdgeContext:
    return verify_edge(key, header, method=method, path=path, now=now)


def test_signature_round_trips_to_the_client_address_and_request_id() -> None:
    assert verify(signed()) == EdgeContext(client_ip="203.0.113.7", request_id="req-1")


def test_signature_carries_the_verified_caller() -> None:
    caller = Principal(user_id="u-1", account_id=None, roles=("finance",), session_id="s-1", amr=("pwd", "otp"))
    assert verify(signed(principal=caller)) == EdgeContext("203.0.113.7", "req-1", principal=caller)


def test_a_changed_caller_fails() -> None:
    victim = Principal(user_id="u-1", account_id="a-1", roles=("user",), session_id="s-1", amr=("pwd",))
    other = Principal(user_id="u-2", account_id="a-1", roles=("admin",), session_id="s-2", amr=("pwd",))
    header = signed(principal=victim)
    forged = header.replace(encode_principal(victim), encode_principal(other))
    assert forged != header

    with pytest.raises(BadEdgeSignature, match="signature"):
        verify(forged)


def test_signature_carries_ipv6_client_addresses() -> None:
    assert verify(signed(client_ip="2001:db8::7")).client_ip == "2001:db8::7"


def test_method_case_does_not_matter() -> None:
    assert verify(signed(method="post"), method="POST").request_id == "req-1"


@pytest.mark.parametrize(
    "changes",
    [{"method": "DELETE"}, {"path": "/api/billing/orders/1"}, {"path": "/internal/credits"}, {"key": b"other-key"}],
)
def test_a_request_other_than_the_signed_one_fails(changes: dict[str, Any]) -> None:
    with pytest.raises(BadEdgeSignature, match="signature"):
        verify(signed(), **changes)


def test_a_changed_client_address_fails() -> None:
    header = signed()
    forged = header.replace(";203.0.113.7;", ";198.51.100.1;")
    assert forged != header

    with pytest.raises(BadEdgeSignature, match="signature"):
        verify(forged)


def test_a_changed_request_id_fails() -> None:
    header = signed()
    forged = header.replace(";req-1;", ";req-2;")
    assert forged != header

    with pytest.raises(BadEdgeSignature, match="signature"):
        verify(forged)


def test_a_changed_timestamp_fails() -> None:
    header = signed()
    forged = header.replace(f";{int(NOW)};", f";{int(NOW) + 1};")

    with pytest.raises(BadEdgeSignature, match="signature"):
        verify(forged)


@pytest.mark.parametrize("skew", [61, -61, 3600])
def test_a_stale_signature_fails(skew: float) -> None:
    with pytest.raises(BadEdgeSignature, match="stale"):
        verify(signed(), now=NOW + skew)


@pytest.mark.parametrize("skew", [0, 60, -60])
def test_a_signature_within_a_minute_passes(skew: float) -> None:
    assert verify(signed(), now=NOW + skew).client_ip == "203.0.113.7"


def test_a_correctly_signed_non_numeric_timestamp_fails() -> None:
    parts = ("v2", "soon", "POST", "/api/billing/orders", "203.0.113.7", "req-1", "")
    mac = hmac.new(KEY, "\n".join(parts).encode(), hashlib.sha256).hexdigest()

    with pytest.raises(BadEdgeSignature, match="stale"):
        verify(f"v2;soon;203.0.113.7;req-1;;{mac}")


@pytest.mark.parametrize(
    "header",
    [
        "",
        "v1",
        "garbage",
        ";;;;",
        "v3;1750000000;203.0.113.7;req-1;;" + "0" * 64,
        "v2;1750000000;203.0.113.7;req-1",
        "v2;1750000000;203.0.113.7;req-1;;" + "0" * 64 + ";extra",
        "v2;1750000000;203.0.113.7;req-1;;" + "0" * 64,
        # the version before the principal was signed: a captured one carries no caller
        "v1;1750000000;203.0.113.7;req-1;" + "0" * 64,
    ],
)
def test_malformed_headers_fail(header: str) -> None:
    with pytest.raises(BadEdgeSignature):
        verify(header)


def test_sign_edge_uses_the_current_time_by_default() -> None:
    header = sign_edge(KEY, method="GET", path="/x", client_ip="192.0.2.1", request_id="r")

    assert abs(int(header.split(";")[1]) - time.time()) <= 2
    assert verify_edge(KEY, header, method="GET", path="/x").client_ip == "192.0.2.1"


# --- the middleware -------------------------------------------------------


@pytest.fixture(scope="module")
def service() -> ASGIApp:
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @app.get("/api/billing/balance")
    async def balance(request: Request) -> dict[str, str]:
        edge: EdgeContext = request.state.edge
        return {"ip": edge.client_ip, "request_id": edge.request_id}

    return EdgeSignatureMiddleware(app, key=KEY)


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
async def test_health_checks_pass_unsigned(service: ASGIApp, path: str) -> None:
    answer = await request(service, "GET", path)

    assert answer.status_code == 200


async def test_unsigned_requests_are_refused_with_a_problem(service: ASGIApp) -> None:
    answer = await request(service, "GET", "/api/billing/balance")

    assert answer.status_code == 403
    assert answer.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert int(answer.headers["content-length"]) == len(answer.content)
    problem = answer.json()
    assert problem["code"] == "not_from_gateway"
    assert problem["type"] == "/problems/not_from_gateway"
    assert problem["status"] == 403


async def test_unknown_paths_are_refused_unsigned_too(service: ASGIApp) -> None:
    answer = await request(service, "GET", "/internal/anything")

    assert answer.status_code == 403
    assert answer.json()["code"] == "not_from_gateway"


async def test_signed_requests_reach_the_route_with_the_edge_context(service: ASGIApp) -> None:
    header = sign_edge(KEY, method="GET", path="/api/billing/balance", client_ip="198.51.100.9", request_id="abc")

    answer = await request(service, "GET", "/api/billing/balance", headers={EDGE_HEADER: header})

    assert answer.status_code == 200
    assert answer.json() == {"ip": "198.51.100.9", "request_id": "abc"}


async def test_a_signature_for_another_path_is_refused(service: ASGIApp) -> None:
    header = sign_edge(KEY, method="GET", path="/api/billing/ledger", client_ip="198.51.100.9", request_id="abc")

    answer = await request(service, "GET", "/api/billing/balance", headers={EDGE_HEADER: header})

    assert answer.status_code == 403


async def test_a_signature_with_another_key_is_refused(service: ASGIApp) -> None:
    header = sign_edge(b"guessed", method="GET", path="/api/billing/balance", client_ip="1.2.3.4", request_id="abc")

    answer = await request(service, "GET", "/api/billing/balance", headers={EDGE_HEADER: header})

    assert answer.status_code == 403


async def test_a_stale_signature_is_refused(service: ASGIApp) -> None:
    header = sign_edge(
        KEY, method="GET", path="/api/billing/balance", client_ip="1.2.3.4", request_id="abc", now=time.time() - 120
    )

    answer = await request(service, "GET", "/api/billing/balance", headers={EDGE_HEADER: header})

    assert answer.status_code == 403
