"""Billing's money rules as pure functions: the balance's range and online payments' limits."""

from __future__ import annotations

import pytest

from billing.domain.ledger import BalanceLimit, check_room, has_room
from billing.domain.payments import OnlineLimits
from tollgate_shared.errors import InvalidField
from tollgate_shared.money import MAX_MINOR


def test_a_balance_takes_credits_up_to_the_maximum_and_not_a_paisa_more() -> None:
    assert has_room(0, MAX_MINOR) and has_room(MAX_MINOR - 100_00, 100_00)
    assert not has_room(MAX_MINOR - 100_00, 100_01)
    check_room(MAX_MINOR, 0)
    with pytest.raises(BalanceLimit) as refused:
        check_room(MAX_MINOR - 100_00, 150_00)
    assert refused.value.status == 409 and refused.value.code == "balance_limit"
    assert refused.value.detail == (
        "Crediting 150.00 would take the balance of 999999999900.00 past the largest balance an account may hold, "
        "1000000000000.00."
    )


LIMITS = OnlineLimits(min_minor=100_00, max_minor=1000_00)


def test_a_top_up_lies_within_the_online_limits_inclusive() -> None:
    LIMITS.check(100_00)
    LIMITS.check(1000_00)
    for amount_minor, message in ((99_99, "at least 100.00"), (1000_01, "at most 1000.00")):
        with pytest.raises(InvalidField) as refused:
            LIMITS.check(amount_minor)
        assert refused.value.extensions["errors"] == [
            {"field": "amount", "message": f"must be {message}", "type": "invalid"}
        ]


@pytest.mark.parametrize(
    ("total_minor", "balance_minor", "charged"),
    [
        (1180_00, 500_00, 680_00),  # the shortfall
        (11_80, 0, 100_00),  # below the minimum: the minimum, the rest stays as credits
        (1180_00, 1130_00, 100_00),
        (1180_00, 1180_00, 0),  # covered: nothing to charge
        (1180_00, 5000_00, 0),
        (1000_00, 0, 1000_00),  # the maximum exactly
    ],
)
def test_paying_an_order_online_charges_the_shortfall_within_the_limits(
    total_minor: int, balance_minor: int, charged: int
) -> None:
    assert LIMITS.charge_for_order(total_minor=total_minor, balance_minor=balance_minor) == charged


def test_a_shortfall_above_the_maximum_names_the_limit() -> None:
    with pytest.raises(InvalidField) as refused:
        LIMITS.charge_for_order(total_minor=1180_00, balance_minor=100_00)
    [error] = refused.value.extensions["errors"]
    assert error["field"] == "method"
    assert "1080.00" in error["message"] and "largest online payment, 1000.00" in error["message"]
