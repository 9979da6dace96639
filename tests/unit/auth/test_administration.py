"""What an administrator may change: the self-lockout guard, and never themselves."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from auth.domain.errors import NotOnYourself, SelfLockout
from auth.domain.ip_rules import client_address, refuse_self_lockout, validated_range
from auth.domain.records import IpRule
from auth.domain.users import refuse_acting_on_self
from auth.use_cases.change_ip_rule import IpRuleChange

OFFICE = IpRule(
    id="r1",
    account_id="a1",
    user_id=None,
    start_ip="203.0.113.0",
    end_ip="203.0.113.255",
    description="office",
    enabled=True,
    created_at=datetime(2026, 1, 1, tzinfo=UTC),
    created_by="admin",
)


def test_an_administrator_may_not_deactivate_or_reset_themselves() -> None:
    with pytest.raises(NotOnYourself) as refused:
        refuse_acting_on_self("admin", "admin", advice="Ask another administrator.")
    assert refused.value.detail == "Ask another administrator."


def test_an_administrator_may_act_on_another_user() -> None:
    refuse_acting_on_self("admin", "member", advice="unused")


def test_a_rule_set_that_still_admits_the_administrator_passes() -> None:
    refuse_self_lockout([OFFICE.rule()], admin_id="admin", client_ip="203.0.113.7", confirmed=False)


def test_a_rule_set_that_shuts_the_administrator_out_is_refused_naming_their_address() -> None:
    with pytest.raises(SelfLockout) as refused:
        refuse_self_lockout([OFFICE.rule()], admin_id="admin", client_ip="198.51.100.1", confirmed=False)
    assert refused.value.extensions == {"your_ip": "198.51.100.1"}
    assert "198.51.100.1" in (refused.value.detail or "")


def test_a_confirmed_self_lockout_passes() -> None:
    refuse_self_lockout([OFFICE.rule()], admin_id="admin", client_ip="198.51.100.1", confirmed=True)


def test_disabling_the_only_rule_lifts_the_restriction() -> None:
    refuse_self_lockout([OFFICE.rule(enabled=False)], admin_id="admin", client_ip="198.51.100.1", confirmed=False)


def test_a_zoned_client_address_is_no_address_so_a_restricted_administrator_is_locked_out() -> None:
    assert client_address("fe80::1%eth0") is None
    with pytest.raises(SelfLockout):
        refuse_self_lockout([OFFICE.rule()], admin_id="admin", client_ip="fe80::1%eth0", confirmed=False)


def test_a_stored_rule_is_the_range_it_was_validated_as() -> None:
    start, end = validated_range(OFFICE.start_ip, OFFICE.end_ip)
    assert (OFFICE.rule().start, OFFICE.rule().end) == (start, end)
    assert OFFICE.range == "203.0.113.0-203.0.113.255"


def test_a_rule_change_names_only_what_it_changes() -> None:
    assert IpRuleChange(enabled=True, description="office", confirm_self_lockout=False).changes_to(OFFICE) == {}
    assert IpRuleChange(enabled=False, description=None, confirm_self_lockout=False).changes_to(OFFICE) == {
        "enabled": False
    }
    assert IpRuleChange(enabled=None, description="HQ", confirm_self_lockout=False).changes_to(OFFICE) == {
        "description": "HQ"
    }
