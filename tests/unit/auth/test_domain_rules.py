"""Auth's pure rules: password policy, throttling delays, IP rules, sealed secrets, recovery codes."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from auth.adapters.secret_box import SecretBox, SecretBoxError
from auth.domain import passwords, recovery_codes
from auth.domain.ip_rules import InvalidRule, Rule, is_allowed, parse_ip, validated_range
from auth.domain.throttle import CODES, MAX_DELAY_SECONDS, PASSWORDS
from tollgate_shared.errors import InvalidFields


@pytest.mark.parametrize("password", ["short", "password12345", "qwertyuiop123", "Iloveyou2024!", "zzzzzzzzzzzzzzzz"])
def test_weak_passwords_are_refused(password: str) -> None:
    with pytest.raises(passwords.WeakPassword):
        passwords.check_password_policy(password, email="someone@example.com")


def test_a_password_containing_the_email_is_refused() -> None:
    with pytest.raises(passwords.WeakPassword):
        passwords.check_password_policy("my name is priyanka!", email="priyanka@example.com")


def test_a_long_uncommon_password_is_accepted() -> None:
    passwords.check_password_policy("correct horse battery", email="someone@example.com")


async def test_unknown_users_cost_a_real_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    verified: list[str] = []
    real = passwords.HASHER

    class CountingHasher:
        def verify(self, hash_: str, password: str) -> bool:
            verified.append(hash_)
            return real.verify(hash_, password)

    monkeypatch.setattr(passwords, "HASHER", CountingHasher())
    assert await passwords.verify_password(None, "anything at all") is False
    assert len(verified) == 1 and verified[0].startswith("$argon2id$")


def test_delays_grow_after_the_threshold_and_are_capped() -> None:
    assert [PASSWORDS.delay_after(n, threshold=5) for n in range(1, 9)] == [0, 0, 0, 0, 1, 2, 4, 8]
    assert PASSWORDS.delay_after(100, threshold=5) == MAX_DELAY_SECONDS


def test_wrong_codes_wait_a_time_step_after_the_threshold_then_twice_as_long() -> None:
    assert [CODES.delay_after(n, threshold=5) for n in range(1, 9)] == [0, 0, 0, 0, 30, 60, 120, 240]
    assert CODES.delay_after(100, threshold=5) == MAX_DELAY_SECONDS


def rule(start: str, end: str, user_id: str | None = None, enabled: bool = True) -> Rule:
    first, last = validated_range(start, end)
    return Rule(id="r", user_id=user_id, start=first, end=last, enabled=enabled)


def test_a_user_without_applicable_rules_is_unrestricted() -> None:
    assert is_allowed([rule("10.0.0.1", "10.0.0.9", user_id="other")], user_id="me", address=ip_address("192.0.2.1"))


def test_own_and_all_users_rules_both_apply() -> None:
    rules = [rule("10.0.0.1", "10.0.0.9", user_id="me"), rule("2001:db8::", "2001:db8::ff")]
    assert is_allowed(rules, user_id="me", address=ip_address("10.0.0.5"))
    assert is_allowed(rules, user_id="me", address=ip_address("2001:db8::5"))
    assert not is_allowed(rules, user_id="me", address=ip_address("10.0.0.10"))
    assert not is_allowed(rules, user_id="me", address=None)


def test_disabled_rules_are_ignored() -> None:
    assert is_allowed([rule("10.0.0.1", "10.0.0.9", enabled=False)], user_id="me", address=ip_address("192.0.2.1"))


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("10.0.0.9", "10.0.0.1", "end_ip"),
        ("10.0.0.1", "::1", "end_ip"),
        ("nope", "10.0.0.1", "start_ip"),
        ("10.0.0.1", "10.0.0.256", "end_ip"),
        ("fe80::1%eth0", "fe80::2", "start_ip"),
        ("fe80::1", "fe80::2%1", "end_ip"),
    ],
)
def test_invalid_ranges_name_the_field(start: str, end: str, field: str) -> None:
    with pytest.raises(InvalidFields) as raised:
        validated_range(start, end)
    assert [error["field"] for error in raised.value.errors] == [field]


def test_a_client_address_with_a_zone_index_is_in_no_range() -> None:
    rules = [rule("fe80::", "fe80::ffff", user_id="alice")]
    assert is_allowed(rules, user_id="alice", address=ip_address("fe80::1"))
    with pytest.raises(InvalidRule):
        parse_ip("fe80::1%eth0", field="ip")  # so may_connect treats it as no address


def test_mapped_ipv6_counts_as_ipv4() -> None:
    first, last = validated_range("::ffff:10.0.0.1", "10.0.0.2")
    assert first.version == last.version == 4


def test_sealed_secrets_open_only_in_their_context_and_survive_a_key_rotation() -> None:
    old = SecretBox("old secret key for tests")
    sealed = old.seal(b"JBSWY3DPEHPK3PXP", context=b"user-1")
    with pytest.raises(SecretBoxError):
        old.open(sealed, context=b"user-2")
    rotated = SecretBox("new secret key for tests", ("old secret key for tests",))
    assert rotated.open(sealed, context=b"user-1") == b"JBSWY3DPEHPK3PXP"
    assert rotated.needs_resealing(sealed) and not rotated.needs_resealing(rotated.seal(b"x", context=b"c"))
    with pytest.raises(SecretBoxError):
        SecretBox("new secret key for tests").open(sealed, context=b"user-1")


def test_recovery_codes_are_distinct_and_hash_ignoring_case_and_dashes() -> None:
    codes = recovery_codes.new_codes()
    assert len(set(codes)) == 10 and all(recovery_codes.looks_like_recovery_code(c) for c in codes)
    key = b"k"
    assert recovery_codes.hash_code(codes[0], key=key) == recovery_codes.hash_code(
        codes[0].upper().replace("-", ""), key=key
    )
    assert not recovery_codes.looks_like_recovery_code("123456")
