"""The gateway's token bucket, bearer extraction and public paths."""

from __future__ import annotations

from gateway.access import bearer_token
from gateway.edge_policy import is_public, is_rate_limited
from gateway.rate_limit import RateLimiter, retry_after


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
