"""The gateway's token bucket, the one credential, public paths, the edge decision and forwarded headers."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm
from opentelemetry import propagate
from opentelemetry.sdk.trace import TracerProvider

from gateway.access import Admitted, EdgeAccess, Refusal
from gateway.client_address import parse_address
from gateway.credentials import Credential, CredentialRefused, credential_of, without_credentials
from gateway.edge_policy import PUBLIC, is_public, is_rate_limited
from gateway.ip_index import IpRuleIndex
from gateway.proxy import forward_headers
from gateway.rate_limit import RateLimiter, retry_after
from gateway.routes import route
from tollgate_shared.access_tokens import AUDIENCE, ISSUER, Principal
from tollgate_shared.callers import csrf_token
from tollgate_shared.edge import EDGE_HEADER, verify_edge
from tollgate_shared.jwks import JwksCache
from tollgate_shared.revocations import RevokedSessions


def test_the_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    limiter = RateLimiter(per_minute=3)
    assert [limiter.take("a", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("a", now=0.0)
    assert wait == 20.0 and retry_after(wait) == "20"
    assert limiter.take("b", now=0.0) == 0.0  # another address
    assert limiter.take("a", now=20.0) == 0.0  # one token back after 20 s


def scope(*headers: tuple[bytes, bytes]) -> dict[str, object]:
    return {"headers": list(headers)}


def test_the_one_credential_is_a_bearer_header_or_the_session_cookie() -> None:
    assert credential_of([(b"authorization", b"Bearer abc")]) == Credential("abc", from_cookie=False)
    assert credential_of([(b"authorization", b"bearer  abc ")]) == Credential("abc", from_cookie=False)
    assert credential_of([(b"cookie", b"x=1; tg_access=def; y=2")]) == Credential("def", from_cookie=True)
    assert credential_of([(b"cookie", b"x=1")]) is None and credential_of([]) is None
    # The same token twice is one credential: a browser API client may send both.
    both = [(b"authorization", b"Bearer abc"), (b"cookie", b"tg_access=abc")]
    assert credential_of(both) == Credential("abc", from_cookie=False)


@pytest.mark.parametrize(
    "headers",
    [
        [(b"cookie", b"tg_access=X; tg_access=Y")],
        [(b"cookie", b"tg_access=X"), (b"cookie", b"tg_access=Y")],
        [(b"cookie", b"tg_access=X; tg_access=X")],
        [(b"cookie", b" tg_access = X; tg_access=Y")],
        [(b"authorization", b"Bearer X"), (b"authorization", b"Bearer Y")],
        [(b"authorization", b"Basic Zm9vOmJhcg=="), (b"authorization", b"Bearer X"), (b"cookie", b"tg_access=Y")],
        [(b"authorization", b"Bearer X"), (b"cookie", b"tg_access=Y")],
    ],
    ids=[
        "two-cookies",
        "two-cookie-headers",
        "same-cookie-twice",
        "spaced-cookie",
        "two-bearers",
        "basic+bearer+cookie",
        "bearer-and-other-cookie",
    ],
)
def test_several_candidate_credentials_are_refused(headers: list[tuple[bytes, bytes]]) -> None:
    with pytest.raises(CredentialRefused) as refused:
        credential_of(headers)
    assert (refused.value.status, refused.value.code) == (400, "ambiguous_credentials")


def test_another_authorization_scheme_is_refused_not_ignored() -> None:
    with pytest.raises(CredentialRefused) as refused:
        credential_of([(b"authorization", b"Basic Zm9vOmJhcg=="), (b"cookie", b"tg_access=Y")])
    assert (refused.value.status, refused.value.code) == (401, "unsupported_credentials")


def test_the_clients_credentials_never_reach_a_service() -> None:
    headers = [
        (b"authorization", b"Bearer X"),
        (b"cookie", b"tg_access=X; tg_refresh=R; tg_csrf=C"),
        (b"cookie", b"tg_access=Y"),
        (b"accept", b"*/*"),
    ]
    assert without_credentials(headers) == [(b"cookie", b"tg_refresh=R; tg_csrf=C"), (b"accept", b"*/*")]


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


INTERNAL_KEY = b"k" * 32
CALLER = Principal(user_id="u-1", account_id="a-1", roles=(), session_id="s-1", amr=())


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
    access = EdgeAccess(
        jwks=JwksCache(fetch), index=index, revoked=revoked, limiter=RateLimiter(30), internal_key=INTERNAL_KEY
    )
    return access, index, revoked


def me_request(token: str) -> dict[str, Any]:
    return {"method": "GET", "path": "/api/auth/me", "headers": [(b"authorization", f"Bearer {token}".encode())]}


async def test_a_remembered_token_still_meets_revocation_and_the_ip_rules_on_every_request() -> None:
    access, index, revoked = edge_access()
    token: str = edge_access.token  # type: ignore[attr-defined]
    inside, outside = parse_address("192.0.2.7"), parse_address("198.51.100.7")
    index.apply("a-1", [{"user_id": None, "start_ip": "192.0.2.0", "end_ip": "192.0.2.255"}], revision=1)
    assert await access.check(me_request(token), inside, "192.0.2.7") == Admitted(CALLER)
    assert await access.check(me_request(token), inside, "192.0.2.7") == Admitted(CALLER)  # remembered now
    refusal = await access.check(me_request(token), outside, "198.51.100.7")
    assert isinstance(refusal, Refusal) and refusal.code == "ip_not_allowed"
    revoked.revoke("s-1")
    refusal = await access.check(me_request(token), inside, "192.0.2.7")
    assert isinstance(refusal, Refusal) and refusal.code == "session_revoked"


def cookie_post(token: str, *extra: tuple[bytes, bytes]) -> dict[str, Any]:
    headers = [(b"cookie", f"tg_access={token}; tg_csrf=whatever".encode()), *extra]
    return {"method": "POST", "path": "/api/billing/orders", "headers": headers}


async def test_a_cookie_on_an_unsafe_method_needs_the_csrf_token_of_its_own_session() -> None:
    access, _, _ = edge_access()
    token: str = edge_access.token  # type: ignore[attr-defined]
    here = parse_address("192.0.2.7")
    missing = await access.check(cookie_post(token), here, "192.0.2.7")
    assert isinstance(missing, Refusal) and (missing.status, missing.code) == (403, "csrf_failed")
    # A token the page could have got from another session (or a cookie planted beside it) fails.
    other = csrf_token(INTERNAL_KEY, "s-2").encode()
    foreign = await access.check(cookie_post(token, (b"x-csrf-token", other)), here, "192.0.2.7")
    assert isinstance(foreign, Refusal) and foreign.code == "csrf_failed"
    own = csrf_token(INTERNAL_KEY, "s-1").encode()
    assert await access.check(cookie_post(token, (b"x-csrf-token", own)), here, "192.0.2.7") == Admitted(CALLER)


async def test_an_optional_credential_that_fails_leaves_a_public_request_anonymous() -> None:
    access, _, revoked = edge_access()
    token: str = edge_access.token  # type: ignore[attr-defined]
    setup = {
        "method": "POST",
        "path": "/api/auth/totp/setup",
        "headers": [(b"authorization", f"Bearer {token}".encode())],
    }
    here = parse_address("192.0.2.7")
    assert await access.check(setup, here, "192.0.2.7") == Admitted(CALLER)
    revoked.revoke("s-1")
    assert await access.check(setup, here, "192.0.2.7") == Admitted(None)


# --- headers forwarded to the services ----------------------------------------------------------------


TRACER = TracerProvider().get_tracer(__name__)


def proxied_scope(*headers: tuple[bytes, bytes]) -> dict[str, Any]:
    return {"method": "GET", "path": "/api/auth/me", "scheme": "http", "headers": list(headers)}


def test_the_service_gets_the_gateways_trace_context_not_the_clients() -> None:
    forged = b"00-" + b"a" * 32 + b"-" + b"b" * 16 + b"-01"
    scope = proxied_scope((b"traceparent", forged), (b"tracestate", b"x=1"), (b"accept", b"*/*"))
    with TRACER.start_as_current_span("gateway request") as span:
        headers = forward_headers(scope, client_ip="192.0.2.7", request_id="r-1", key=INTERNAL_KEY, principal=None)
    context = span.get_span_context()
    forwarded = dict(headers)
    assert [name for name, _ in headers].count("traceparent") == 1
    assert forwarded["traceparent"] == f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    assert "tracestate" not in forwarded and forwarded["accept"] == "*/*"


def test_a_trace_the_client_started_continues_through_the_gateway() -> None:
    client_trace = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"
    parent = propagate.extract({"traceparent": client_trace})
    with TRACER.start_as_current_span("gateway request", context=parent) as span:
        forwarded = dict(
            forward_headers(proxied_scope(), client_ip="192.0.2.7", request_id="r-1", key=INTERNAL_KEY, principal=None)
        )
    assert forwarded["traceparent"].split("-")[1] == "a" * 32
    assert forwarded["traceparent"].split("-")[2] == format(span.get_span_context().span_id, "016x")


def test_the_service_learns_the_caller_only_from_the_signed_edge_header() -> None:
    scope = proxied_scope((b"authorization", b"Bearer X"), (b"cookie", b"tg_access=X; lang=en"))
    headers = forward_headers(scope, client_ip="192.0.2.7", request_id="r-1", key=INTERNAL_KEY, principal=CALLER)
    names = [name.lower() for name, _ in headers]
    assert "authorization" not in names and dict(headers)["cookie"] == "lang=en"
    edge = verify_edge(INTERNAL_KEY, dict(headers)[EDGE_HEADER], method="GET", path="/api/auth/me")
    assert edge.principal == CALLER and edge.client_ip == "192.0.2.7"
