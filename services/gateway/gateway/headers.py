"""Header rules of the edge: what is never forwarded, and what every answer carries."""

from __future__ import annotations

# RFC 9110 §7.6.1 hop-by-hop headers, plus the ones the gateway itself sets.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
# A client must never set what the gateway tells the services.
SET_BY_GATEWAY = frozenset(
    {
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"x-real-ip",
        b"forwarded",
        b"x-request-id",
        b"x-tollgate-edge",
        b"host",
    }
)

# W3C trace context: the gateway forwards its own span's (which continues the
# client's trace, if any), never the client's as it came.
TRACE_CONTEXT = frozenset({b"traceparent", b"tracestate", b"baggage"})

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)
UI_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        b"frame-ancestors 'none'; form-action 'self'",
    ),
    (b"x-frame-options", b"DENY"),
)


def connection_tokens(headers: list[tuple[bytes, bytes]]) -> set[bytes]:
    """Headers named in `Connection` are hop-by-hop too."""
    tokens: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            tokens.update(token.strip().lower() for token in value.split(b","))
    return tokens
