"""What a user refused by their account's IP restrictions is told, at login (auth) and on any
request (the gateway): written once, so both say the same.

It names the client's own address and that an administrator's IP restrictions apply, and whom
to ask in general terms. Nothing about the account (its name, its administrators) is in it: at
login the caller has only shown a password, and the portal adds the account's name from what
the signed-in user already knows.
"""

from __future__ import annotations

CODE = "ip_not_allowed"
TITLE = "Access from this address is not allowed"


def detail(ip: str) -> str:
    return (
        f"Your address {ip} is outside the IP restrictions your administrator has set for this account. "
        "Ask an administrator of your account to allow it, or connect from an address they allow."
    )


def fields(ip: str) -> dict[str, str]:
    """The problem's extension members: the address as the platform saw it."""
    return {"ip": ip}
