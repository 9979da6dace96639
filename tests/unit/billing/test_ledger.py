"""The wallet's rules: which changes a balance refuses, and what a credit is announced as."""

from __future__ import annotations

from billing.domain.ledger import (
    BalanceLimit,
    EntryKind,
    InsufficientCredits,
    Wallet,
    credit_source,
    crossed_below,
    refusal,
)
from tollgate_shared.money import MAX_MINOR


def test_a_change_within_zero_and_the_maximum_is_not_refused() -> None:
    assert refusal(100_00, -100_00) is None
    assert refusal(0, MAX_MINOR) is None
    assert refusal(100_00, 0) is None


def test_a_debit_below_zero_is_insufficient_credits_naming_the_balance() -> None:
    refused = refusal(100_00, -100_01)
    assert isinstance(refused, InsufficientCredits)
    assert refused.detail == "The balance is 100.00."


def test_a_credit_past_the_maximum_is_a_balance_limit() -> None:
    assert isinstance(refusal(MAX_MINOR, 1), BalanceLimit)


def test_credits_are_announced_by_where_they_came_from() -> None:
    assert credit_source(EntryKind.ONLINE_PAYMENT) == "online_payment"
    assert credit_source(EntryKind.OFFLINE_PAYMENT) == "offline_payment"
    assert credit_source(EntryKind.ADJUSTMENT) == "adjustment"
    assert credit_source(EntryKind.ORDER) == "adjustment"


def test_the_low_balance_warning_goes_out_once_per_crossing() -> None:
    assert crossed_below(False, 99_00, 100_00)
    assert not crossed_below(True, 98_00, 100_00)  # still below: told already
    assert not crossed_below(False, 100_00, 100_00)  # at the threshold is not below
    assert not crossed_below(False, 0, 0)  # a zero threshold never warns


def test_an_account_billing_has_not_heard_of_reads_as_an_empty_wallet() -> None:
    assert Wallet.empty("a-1", "INR") == Wallet("a-1", "INR", 0, 0, below_threshold=False)
