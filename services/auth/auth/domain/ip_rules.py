"""IP restriction rules (DESIGN.md §1): pure rules, no I/O.

A user to whom no enabled rule applies is unrestricted; otherwise the client
address must fall inside at least one enabled rule that applies to them (their
own, or one for all users of the account).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address

from auth.domain.errors import SelfLockout
from tollgate_shared.errors import FieldChecks, InvalidField

IPAddress = IPv4Address | IPv6Address


class InvalidRule(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def parse_ip(text: str, *, field: str) -> IPAddress:
    """An address as written by an administrator (or a client's, as the gateway saw it);
    mapped IPv6 counts as IPv4.

    A zone index (`fe80::1%eth0`) is refused: it names an interface of one host, means
    nothing to another, and `ipaddress` would order a zoned address inside a range of
    unzoned ones, so a rule must never hold one nor a zoned client address match one.
    """
    if "%" in text:
        raise InvalidRule(field, "must not have a zone index (the part from '%')")
    try:
        address = ip_address(text.strip())
    except ValueError:
        raise InvalidRule(field, "must be an IPv4 address (203.0.113.5) or an IPv6 address (2001:db8::5)") from None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True)
class Rule:
    id: str
    user_id: str | None
    start: IPAddress
    end: IPAddress
    enabled: bool

    def applies_to(self, user_id: str) -> bool:
        return self.enabled and (self.user_id is None or self.user_id == user_id)

    def contains(self, address: IPAddress) -> bool:
        return address.version == self.start.version and self.start <= address <= self.end  # type: ignore[operator]


def rule_address(text: str, *, field: str) -> IPAddress:
    """An address of a rule, or `InvalidField` on `field` saying what is wrong with it."""
    try:
        return parse_ip(text, field=field)
    except InvalidRule as exc:
        raise InvalidField(exc.field, str(exc)) from None


def range_problem(start: IPAddress, end: IPAddress) -> str | None:
    """What is wrong with `end` as the end of a range from `start`, if anything."""
    if start.version != end.version:
        return "must be the same kind of address as the start address (both IPv4 or both IPv6)"
    if end < start:  # type: ignore[operator]
        return "must not be lower than the start address"
    return None


def validated_range(start_ip: str, end_ip: str) -> tuple[IPAddress, IPAddress]:
    """The range's addresses, or `InvalidFields` naming every wrong one at once."""
    checks = FieldChecks()
    start = checks.run(rule_address, start_ip, field="start_ip")
    end = checks.run(rule_address, end_ip, field="end_ip")
    if start is not None and end is not None and (problem := range_problem(start, end)):
        checks.add("end_ip", problem)
    checks.raise_if_any()
    assert start is not None and end is not None  # raise_if_any() raised otherwise
    return start, end


def is_allowed(rules: Iterable[Rule], *, user_id: str, address: IPAddress | None) -> bool:
    """Whether `user_id` may act from `address` under `rules`."""
    applicable = [rule for rule in rules if rule.applies_to(user_id)]
    if not applicable:
        return True
    return address is not None and any(rule.contains(address) for rule in applicable)


def client_address(ip: str) -> IPAddress | None:
    """The client's address for the rules; None when it is none (a zone index, garbage)."""
    try:
        return parse_ip(ip, field="ip")
    except InvalidRule:
        return None


def refuse_self_lockout(rules: Iterable[Rule], *, admin_id: str, client_ip: str, confirmed: bool) -> None:
    """A change leaving `rules` must not shut out the administrator making it, unless confirmed."""
    if not confirmed and not is_allowed(rules, user_id=admin_id, address=client_address(client_ip)):
        raise SelfLockout(
            f"Your current address {client_ip} would no longer be allowed. "
            "Send confirm_self_lockout: true to do it anyway.",
            your_ip=client_ip,
        )
