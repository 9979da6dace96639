"""The client address: the socket peer, or X-Forwarded-For behind trusted proxies.

Like nginx's `real_ip_recursive on`: walk X-Forwarded-For from the right and
take the first address that is not a trusted proxy. A peer that is not trusted
cannot choose its address by sending the header. IPv4-mapped IPv6 addresses
count as IPv4.

An address is parsed once per request, into the number the IP rules are
searched with and the canonical text the services are told; `socket.inet_pton`
does it in a fraction of what `ipaddress.ip_address` costs (≈0.4 vs 3 µs).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Network, IPv6Address, IPv6Network
from socket import AF_INET, AF_INET6, inet_pton
from typing import NamedTuple

V4_BITS = 0xFFFFFFFF


class Address(NamedTuple):
    """A parsed address: family (4 or 6), its number, its canonical text."""

    version: int
    value: int
    text: str


class TrustedRange(NamedTuple):
    version: int
    first: int
    last: int


def trusted_ranges(networks: Iterable[IPv4Network | IPv6Network]) -> tuple[TrustedRange, ...]:
    """Trusted proxy CIDRs as number ranges, parsed once at start."""
    return tuple(TrustedRange(n.version, int(n.network_address), int(n.broadcast_address)) for n in networks)


def parse_address(text: str) -> Address | None:
    """An address from a header or socket ("v4", "v4:port", "v6", "[v6]:port"), mapped IPv6
    folded to IPv4; None if invalid."""
    text = text.strip()
    if ":" in text:
        if text.startswith("[") and "]" in text:  # "[v6]:port"
            text = text[1 : text.index("]")]
        elif text.count(":") == 1:  # "v4:port"
            text = text.split(":", 1)[0]
    return parse_ip(text)


def parse_ip(text: str) -> Address | None:
    """A bare IPv4 or IPv6 address, mapped IPv6 folded to IPv4; None if invalid."""
    number = ip_number(text)
    if number is None:
        return None
    version, value = number
    if version == 4:
        # inet_pton takes only canonical dotted quads (four parts, no leading zeros).
        return Address(4, value, text if ":" not in text else inet_ntop4(value))
    return Address(6, value, str(IPv6Address(value)))


def ip_number(text: str) -> tuple[int, int] | None:
    """(family, number) of a bare address, mapped IPv6 folded to IPv4; None if invalid.

    A zone index ("fe80::1%eth0") makes it invalid: it names an interface of one host,
    so such an address is in no rule's range (auth refuses it in a rule, too).
    inet_pton refuses it as it refuses garbage.
    """
    try:
        if ":" not in text:
            return 4, int.from_bytes(inet_pton(AF_INET, text), "big")
        value = int.from_bytes(inet_pton(AF_INET6, text), "big")
    except (ValueError, OSError):  # an embedded NUL; anything else inet_pton does not take
        return None
    if value >> 32 == 0xFFFF:  # ::ffff:a.b.c.d
        return 4, value & V4_BITS
    return 6, value


def inet_ntop4(value: int) -> str:
    return f"{value >> 24}.{(value >> 16) & 0xFF}.{(value >> 8) & 0xFF}.{value & 0xFF}"


def is_trusted(address: Address, trusted: Sequence[TrustedRange]) -> bool:
    version, value = address.version, address.value
    return any(r.version == version and r.first <= value <= r.last for r in trusted)


def client_address(peer: str, forwarded_for: Sequence[str], trusted: Sequence[TrustedRange]) -> Address | None:
    """The address a request comes from, as the gateway believes it."""
    candidate = parse_address(peer)
    if candidate is None or not trusted or not is_trusted(candidate, trusted):
        return candidate
    hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = parse_address(hop)
        if address is None:
            # A garbled hop: believe nothing further left of it.
            return candidate
        candidate = address
        if not is_trusted(address, trusted):
            return address
    return candidate
