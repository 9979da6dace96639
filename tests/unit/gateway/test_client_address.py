"""The gateway's view of the client address, and which service a public path goes to."""

from __future__ import annotations

import random
from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

import pytest

from gateway.client_address import Address, client_address, parse_address, trusted_ranges
from gateway.routes import route

TRUSTED = [ip_network("10.0.0.0/8"), ip_network("fd00::/8")]


def address_of(peer: str, *forwarded_for: str, trusted: Sequence[IPv4Network | IPv6Network] = TRUSTED) -> str | None:
    found = client_address(peer, list(forwarded_for), trusted_ranges(trusted))
    return None if found is None else found.text


def as_ipaddress_says(text: str) -> Address:
    """What `ipaddress` makes of `text`: the reference the fast parser must agree with."""
    address = ip_address(text)
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return Address(address.version, int(address), str(address))


def test_untrusted_peer_cannot_choose_its_address_with_x_forwarded_for() -> None:
    assert address_of("198.51.100.20", "1.2.3.4") == "198.51.100.20"


def test_without_trusted_proxies_x_forwarded_for_is_ignored() -> None:
    assert address_of("10.0.0.1", "1.2.3.4", trusted=[]) == "10.0.0.1"


def test_trusted_peer_gives_the_right_most_untrusted_hop() -> None:
    # The client forged 1.2.3.4; the proxy appended the real 203.0.113.5.
    assert address_of("10.0.0.1", "1.2.3.4, 203.0.113.5") == "203.0.113.5"


def test_chain_of_trusted_proxies_is_walked_from_the_right() -> None:
    assert address_of("10.0.0.1", "1.2.3.4, 203.0.113.5, 10.1.1.1, 10.2.2.2") == "203.0.113.5"


def test_trusted_peer_without_x_forwarded_for_is_the_client() -> None:
    assert address_of("10.0.0.1") == "10.0.0.1"


def test_all_hops_trusted_gives_the_left_most() -> None:
    assert address_of("10.0.0.1", "10.9.9.9, 10.8.8.8") == "10.9.9.9"


def test_garbage_hop_stops_the_walk_at_the_last_believed_address() -> None:
    assert address_of("10.0.0.1", "203.0.113.5, not-an-ip, 10.8.8.8") == "10.8.8.8"
    assert address_of("10.0.0.1", "unknown") == "10.0.0.1"


def test_a_hop_with_a_zone_index_is_garbage() -> None:
    assert address_of("10.0.0.1", "fe80::1%eth0") == "10.0.0.1"
    assert address_of("fe80::1%eth0") is None


def test_untrusted_hop_right_of_garbage_wins() -> None:
    assert address_of("10.0.0.1", "garbage, 203.0.113.5") == "203.0.113.5"


def test_empty_hops_are_skipped() -> None:
    assert address_of("10.0.0.1", "203.0.113.5, , 10.8.8.8,") == "203.0.113.5"


def test_ipv6_peer_and_hops() -> None:
    assert address_of("2001:db8::1", "1.2.3.4") == "2001:db8::1"
    assert address_of("fd00::1", "2001:db8::5, fd00::2") == "2001:db8::5"
    assert address_of("fd00::1", "[2001:db8::5]:443") == "2001:db8::5"


def test_ipv4_mapped_ipv6_peer_counts_as_ipv4() -> None:
    assert address_of("::ffff:198.51.100.20") == "198.51.100.20"
    # ...and matches an IPv4 trusted CIDR.
    assert address_of("::ffff:10.0.0.1", "203.0.113.5") == "203.0.113.5"


def test_ipv4_mapped_ipv6_hop_counts_as_ipv4() -> None:
    assert address_of("10.0.0.1", "203.0.113.5, ::ffff:10.3.3.3") == "203.0.113.5"


def test_ipv4_trusted_range_does_not_trust_ipv6_peers() -> None:
    assert address_of("2001:db8::1", "1.2.3.4", trusted=[ip_network("0.0.0.0/0")]) == "2001:db8::1"


def test_several_x_forwarded_for_headers_read_as_one_list() -> None:
    assert address_of("10.0.0.1", "1.2.3.4", "203.0.113.5, 10.8.8.8") == "203.0.113.5"
    assert address_of("10.0.0.1", "203.0.113.5", "10.8.8.8") == "203.0.113.5"


def test_hops_with_ports() -> None:
    assert address_of("10.0.0.1", "203.0.113.5:51000, 10.8.8.8:443") == "203.0.113.5"


def test_invalid_peer_gives_none() -> None:
    assert address_of("", "1.2.3.4") is None
    assert address_of("not-an-ip") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.0.2.1", "192.0.2.1"),
        (" 192.0.2.1 ", "192.0.2.1"),
        ("192.0.2.1:8080", "192.0.2.1"),
        ("2001:db8::1", "2001:db8::1"),
        ("[2001:db8::1]:8080", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("::1", "::1"),
    ],
)
def test_parse_address_forms(text: str, expected: str) -> None:
    assert parse_address(text) == as_ipaddress_says(expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "999.1.1.1",
        "[2001:db8::1",
        "1.2.3.4:80:90",
        "1.2.3",
        "01.2.3.4",
        "1.2.3.4.5",
        "1.2.3.4\x00",
        "2001:db8::1\x00",
        "::ffff:1.2.3.04",
        "2001:db8:::1",
        "12345::",
        "1.2.3.4/32",
        "0x7f.0.0.1",
        # A zone index names an interface of one host: such an address is in no rule's range.
        "fe80::1%eth0",
        "[fe80::1%eth0]:443",
        "fe80::1%1",
    ],
)
def test_parse_address_refuses_garbage(text: str) -> None:
    assert parse_address(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "0.0.0.0",
        "255.255.255.255",
        "::",
        "::1",
        "::ffff:0.0.0.0",
        "::ffff:255.255.255.255",
        "::ffff:c000:201",
        "::FFFF:192.0.2.1",
        "::1.2.3.4",
        "64:ff9b::192.0.2.1",
        "2001:DB8:0:0:0:0:0:1",
        "2001:db8:0:0:1:0:0:1",
        "0:0:0:0:0:ffff:192.0.2.1",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    ],
)
def test_parse_address_agrees_with_ipaddress_on_unusual_forms(text: str) -> None:
    assert parse_address(text) == as_ipaddress_says(text)


def test_parse_address_agrees_with_ipaddress_on_random_addresses() -> None:
    rng = random.Random(7)
    texts = [str(ip_address(rng.getrandbits(32))) for _ in range(2_000)]
    texts += [str(IPv6Address(rng.getrandbits(128))) for _ in range(2_000)]
    texts += [str(IPv6Address(rng.getrandbits(16) << 112 | rng.getrandbits(16))) for _ in range(500)]  # :: runs
    texts += [f"::ffff:{ip_address(rng.getrandbits(32))}" for _ in range(500)]
    texts += [IPv6Address(rng.getrandbits(128)).exploded.upper() for _ in range(500)]
    for text in texts:
        assert parse_address(text) == as_ipaddress_says(text), text


# --- routes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/accounts", "auth"),
        ("/api/auth/login", "auth"),
        ("/api/auth/totp/setup", "auth"),
        ("/api/auth/totp/verify", "auth"),
        ("/api/auth/logout", "auth"),
        ("/api/auth/me", "auth"),
        ("/api/account/security", "auth"),
        ("/api/account/users", "auth"),
        ("/api/account/users/7c1e/totp", "auth"),
        ("/api/account/ip-restrictions", "auth"),
        ("/api/account/ip-restrictions/42", "auth"),
        ("/api/account/audit-log", "auth"),
        ("/api/billing/balance", "billing"),
        ("/api/billing/threshold", "billing"),
        ("/api/billing/profile", "billing"),
        ("/api/billing/credits/online", "billing"),
        ("/api/billing/payments/p-1/recheck", "billing"),
        ("/api/billing/webhooks/stripe", "billing"),
        ("/api/billing/credits/offline", "billing"),
        ("/api/billing/offline-payments", "billing"),
        ("/api/billing/ledger", "billing"),
        ("/api/billing/orders", "billing"),
        ("/api/billing/orders/o-1/pay", "billing"),
        ("/api/finance/offline-payments", "billing"),
        ("/api/finance/offline-payments/op-1/decision", "billing"),
        ("/api/invoices", "invoicing"),
        ("/api/invoices/i-1", "invoicing"),
        ("/api/invoices/i-1/pdf", "invoicing"),
    ],
)
def test_public_paths_route_to_their_service(path: str, service: str) -> None:
    assert route(path) == service


@pytest.mark.parametrize(
    "path",
    [
        "/api/accountsX",
        "/api/accounts-export",
        "/api/billingx/balance",
        "/api/invoicesX",
        "/internal/credits",
        "/internal/billing/wallets",
        "/api/unknown",
        "/api",
        "/api/",
        "/api/whoami",
        "/",
        "/healthz",
        "/billing/balance",
        "/API/billing/balance",
    ],
)
def test_other_paths_are_not_routed(path: str) -> None:
    assert route(path) is None
