"""The client address: the socket peer, or X-Forwarded-For behind trusted proxies.

Like nginx's `real_ip_recursive on`: walk X-Forwarded-For from the right and
take the first address that is not a trusted proxy. A peer that is not trusted
cannot choose its address by sending the header. IPv4-mapped IPv6 addresses
count as IPv4.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

IPAddress = IPv4Address | IPv6Address
Networks = Sequence[IPv4Network | IPv6Network]


def parse_address(text: str) -> IPAddress | None:
    """An address from a header or socket, mapped IPv6 folded to IPv4; None if invalid."""
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[v6]:port"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "v4:port"
        text = text.split(":", 1)[0]
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_trusted(address: IPAddress, trusted: Networks) -> bool:
    return any(address.version == network.version and address in network for network in trusted)


def client_address(peer: str, forwarded_for: Sequence[str], trusted: Networks) -> IPAddress | None:
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
