"""Billing profiles: what an administrator may set, and how invoices name the buyer."""

from __future__ import annotations

import pytest

from billing.domain.gst import gstin_check_character
from billing.domain.profiles import (
    BillingProfileRequired,
    Profile,
    buyer,
    check_profile,
    missing_for_order,
    require_for_order,
)
from tollgate_shared.errors import InvalidFields

NO_PROFILE = Profile("a-1", "Acme", None, None, None, None, None)


def test_the_state_is_recorded_by_its_canonical_name_and_code() -> None:
    details = check_profile(legal_name=" Acme Pvt Ltd ", address=" 1 MG Road ", state="29", gstin=None)
    assert (details.legal_name, details.address, details.state, details.state_code) == (
        "Acme Pvt Ltd",
        "1 MG Road",
        "Karnataka",
        "29",
    )


def test_a_gstin_of_another_state_or_an_unknown_state_names_its_field() -> None:
    first14 = "27AAPFU0939F1Z"
    with pytest.raises(InvalidFields) as other_state:
        check_profile(legal_name="A", address="B", state="Karnataka", gstin=first14 + gstin_check_character(first14))
    assert other_state.value.extensions["errors"][0]["field"] == "gstin"
    with pytest.raises(InvalidFields) as unknown:
        check_profile(legal_name="A", address="B", state="Atlantis", gstin=None)
    assert unknown.value.extensions["errors"][0]["field"] == "state"


def test_without_a_legal_name_invoices_name_the_account_within_the_sellers_state() -> None:
    snapshot, place = buyer(NO_PROFILE, "a-1", seller_state="Karnataka")
    assert (snapshot.legal_name, snapshot.state, snapshot.gstin, place) == ("Acme", "Karnataka", None, "Karnataka")
    unnamed, _ = buyer(None, "a-1", seller_state="Karnataka")
    assert unnamed.legal_name == "Account a-1"


def test_a_configured_profile_is_the_buyer_and_its_state_the_place_of_supply() -> None:
    profile = Profile("a-1", "Acme", "Acme Pvt Ltd", "1 Marine Drive", "Kerala", "32", None)
    snapshot, place = buyer(profile, "a-1", seller_state="Karnataka")
    assert (snapshot.legal_name, snapshot.address, place) == ("Acme Pvt Ltd", "1 Marine Drive", "Kerala")
    assert profile.configured and not NO_PROFILE.configured


def test_an_order_needs_the_legal_name_address_and_state_and_the_refusal_names_each_missing_one() -> None:
    with pytest.raises(BillingProfileRequired) as nothing:
        require_for_order(None)
    assert nothing.value.status == 422 and nothing.value.code == "billing_profile_required"
    assert nothing.value.extensions["missing"] == ["legal_name", "address", "state"]
    assert "its legal name, address and state are missing" in str(nothing.value.detail)
    with pytest.raises(BillingProfileRequired) as named_only:
        require_for_order(NO_PROFILE)  # the account's name is not a legal name
    assert [e["field"] for e in named_only.value.extensions["errors"]] == [
        "billing_profile.legal_name",
        "billing_profile.address",
        "billing_profile.state",
    ]
    blank_address = Profile("a-1", "Acme", "Acme Pvt Ltd", "  ", "Kerala", "32", None)
    assert missing_for_order(blank_address) == ["address"]
    with pytest.raises(BillingProfileRequired) as one:
        require_for_order(blank_address)
    assert "its address is missing" in str(one.value.detail)


def test_a_profile_with_legal_name_address_and_state_may_order_without_a_gstin() -> None:
    profile = Profile("a-1", "Acme", "Acme Pvt Ltd", "1 Marine Drive", "Kerala", "32", None)
    assert missing_for_order(profile) == []
    require_for_order(profile)
