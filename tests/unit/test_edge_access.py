"""The gateway's token bucket, bearer extraction, public paths, the edge decision and forwarded headers."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm
from opentelemetry import propagate
from opentelemetry.sdk.trace import TracerProvider

from gateway.access import EdgeAccess, bearer_token
from gateway.client_address import parse_address
from gateway.edge_policy import PUBLIC, is_public, is_rate_limited
from gateway.ip_index import IpRuleIndex
from gateway.proxy import forward_headers
from gateway.rate_limit import RateLimiter, retry_after
from gateway.revocations import RevokedSessions
from gateway.routes import route
from tollgate_shared.access_tokens import AUDIENCE, ISSUER
from tollgate_shared.jwks import JwksCache


def test_the_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    limiter = RateLimiter(per_minute=3)
    assert [limiter.take("a", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("a", now=0.0)
    assert wait == 20.0 and retry_after(wait) == "20"
    assert limiter.take("b", now=0.0) == 0.0  # another address
    assert limiter.take("a", now=20.0) == 0.0  # one token back after 20 s


def scope(*headers: tuple[bytes, bytes]) -> dict[str, object]:
    return {"headers": list(headers)}


def test_the_token_comes_from_the_authorization_header_or_the_cookie() -> None:
    assert bearer_token(scope((b"authorization", b"Bearer abc"))) == "abc"
    assert bearer_token(scope((b"authorization", b"bearer  abc "))) == "abc"
    assert bearer_token(scope((b"cookie", b"x=1; tg_access=def; y=2"))) == "def"
    assert bearer_token(scope((b"authorization", b"Basic abc"))) is None
    assert bearer_token(scope((b"cookie", b"tg_access="))) is None


def test_public_and_rate_limited_paths() -> None:
    assert is_public("POST", "/api/auth/login") and is_rate_limited("POST", "/api/auth/login")
    assert is_public("POST", "/api/billing/webhooks/stripe") and not is_rate_limited(
        "POST", "/api/billing/webhooks/stripe"
    )
    assert not is_public("GET", "/api/auth/me") and not is_public("POST", "/api/auth/logout")
    assert not is_public("GET", "/api/auth/login")


def test_every_public_step_of_auth_is_rate_limited() -> None:
    """Whatever anyone may call to guess a password, a code or a token is rate-limited per address."""
    guessable = {(method, path) for method, path in PUBLIC if method == "POST" and route(path) == "auth"}
    assert guessable >= {("POST", "/api/auth/login"), ("POST", "/api/auth/refresh")}
    assert all(is_rate_limited(method, path) for method, path in guessable), guessable


# --- the whole edge decision, with remembered tokens -------------------------------------------------


def edge_access() -> tuple[EdgeAccess, IpRuleIndex, RevokedSessions]:
    key = Ed25519PrivateKey.generate()
    jwk = json.loads(OKPAlgorithm.to_jwk(key.public_key()))

    async def fetch() -> dict[str, Any]:
        return {"keys": [{**jwk, "kid": "k1", "alg": "EdDSA", "use": "sig"}]}

    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "u-1", "acc": "a-1", "sid": "s-1", "iat": now, "exp": now + 60}
    edge_access.token = jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": "k1"})  # type: ignore[attr-defined]
    index, revoked = IpRuleIndex(), RevokedSessions(60)
    index.load_snapshot([])
    return EdgeAccess(jwks=JwksCache(fetch), index=index, revoked=revoked, limiter=RateLimiter(30)), index, revoked


def me_request(token: str) -> dict[str, Any]:
    return {"method": "GET", "path": "/api/auth/me", "headers": [(b"authorization", f"Bearer {token}".encode())]}


async def test_a_remembered_token_still_meets_revocation_and_the_ip_rules_on_every_request() -> None:
    access, index, revoked = edge_access()
    token: str = edge_access.token  # type: ignore[attr-defined]
    inside, outside = parse_address("192.0.2.7"), parse_address("198.51.100.7")
    index.apply("a-1", [{"user_id": None, "start_ip": "192.0.2.0", "end_ip": "192.0.2.255"}], revision=1)
    assert await access.check(me_request(token), inside, "192.0.2.7") is None
    assert await access.check(me_request(token), inside, "192.0.2.7") is None  # remembered now
    refusal = await access.check(me_request(token), outside, "198.51.100.7")
    assert refusal is not None and refusal.code == "ip_not_allowed"
    revoked.revoke("s-1")
    refusal = await access.check(me_request(token), inside, "192.0.2.7")
    assert refusal is not None and refusal.code == "session_revoked"


# --- headers forwarded to the services ----------------------------------------------------------------


TRACER = TracerProvider().get_tracer(__name__)


def proxied_scope(*headers: tuple[bytes, bytes]) -> dict[str, Any]:
    return {"method": "GET", "path": "/api/auth/me", "scheme": "http", "headers": list(headers)}


def test_the_service_gets_the_gateways_trace_context_not_the_clients() -> None:
    forged = b"00-" + b"a" * 32 + b"-" + b"b" * 16 + b"-01"
    scope = proxied_scope((b"traceparent", forged), (b"tracestate", b"x=1"), (b"accept", b"*/*"))
    with TRACER.start_as_current_span("gateway request") as span:
        headers = forward_headers(scope, client_ip="192.0.2.7", request_id="r-1", key=b"k" * 32)
    context = span.get_span_context()
    forwarded = dict(headers)
    assert [name for name, _ in headers].count("traceparent") == 1
    assert forwarded["traceparent"] == f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    assert "tracestate" not in forwarded and forwarded["accept"] == "*/*"


def test_a_trace_the_client_started_continues_through_the_gateway() -> None:
    client_trace = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"
    parent = propagate.extract({"traceparent": client_trace})
    with TRACER.start_as_current_span("gateway request", context=parent) as span:
        forwarded = dict(forward_headers(proxied_scope(), client_ip="192.0.2.7", request_id="r-1", key=b"k" * 32))
    assert forwarded["traceparent"].split("-")[1] == "a" * 32
    assert forwarded["traceparent"].split("-")[2] == format(span.get_span_context().span_id, "016x")
