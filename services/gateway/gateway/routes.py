"""Which service answers which public path (DESIGN.md §2); nothing else is routed."""

from __future__ import annotations

# (prefix, service): a path matches when it equals the prefix or continues it
# after a "/". Internal endpoints of the services are never listed here.
ROUTES: tuple[tuple[str, str], ...] = (
    ("/api/accounts", "auth"),
    ("/api/auth", "auth"),
    ("/api/account", "auth"),
    ("/api/billing", "billing"),
    ("/api/finance", "billing"),
    ("/api/invoices", "invoicing"),
    # The sandbox payment provider's hosted checkout page (DESIGN §7), served by billing.
    ("/sandbox/checkout", "billing"),
)


def route(path: str) -> str | None:
    """The service for `path`, or None."""
    for prefix, service in ROUTES:
        if path == prefix or path.startswith(prefix + "/"):
            return service
    return None


def route_label(path: str) -> str | None:
    """What metrics call a forwarded request: its public prefix and `/*` (never the raw path, which holds ids)."""
    for prefix, _ in ROUTES:
        if path == prefix or path.startswith(prefix + "/"):
            return f"{prefix}/*"
    return None
