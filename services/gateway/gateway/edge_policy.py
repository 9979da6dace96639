"""Which public paths need no token, and which are rate-limited per client address."""

from __future__ import annotations

# (method, path) that anyone may call: sign-up, the login steps, the keys,
# the OpenAPI documents. Everything else under the routed prefixes needs a token.
PUBLIC: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/api/accounts"),
        ("POST", "/api/auth/login"),
        ("POST", "/api/auth/totp/setup"),
        ("POST", "/api/auth/totp/verify"),
        ("POST", "/api/auth/refresh"),
        ("GET", "/api/auth/jwks.json"),
        ("GET", "/api/auth/openapi.json"),
        ("GET", "/api/billing/openapi.json"),
        ("GET", "/api/invoices/openapi.json"),
    }
)
# Payment providers call the webhooks, and the service checks their signatures;
# the sandbox's checkout page is reached by its unguessable link, as a provider's is.
PUBLIC_PREFIXES: tuple[str, ...] = ("/api/billing/webhooks/", "/sandbox/checkout/")

# Public paths that also serve a logged-in caller: a credential that passes every
# check is forwarded; one that does not (expired, revoked, several) leaves the
# request anonymous instead of refusing it, so a stale cookie never blocks a login.
OPTIONAL_CREDENTIAL: frozenset[tuple[str, str]] = frozenset({("POST", "/api/auth/totp/setup")})

# Every public step of auth, where anyone could guess a password, a code or a
# refresh token (a unit test holds every public POST of auth to it).
RATE_LIMITED: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/api/accounts"),
        ("POST", "/api/auth/login"),
        ("POST", "/api/auth/totp/setup"),
        ("POST", "/api/auth/totp/verify"),
        ("POST", "/api/auth/refresh"),
    }
)


def is_public(method: str, path: str) -> bool:
    return (method, path) in PUBLIC or path.startswith(PUBLIC_PREFIXES)


def takes_optional_credential(method: str, path: str) -> bool:
    return (method, path) in OPTIONAL_CREDENTIAL


def is_rate_limited(method: str, path: str) -> bool:
    return (method, path) in RATE_LIMITED
