"""Billing's money rules as pure functions: the balance's range and online payments' limits."""

from __future__ import annotations

import pytest

from billing.domain.ledger import BalanceLimit, check_room, has_room
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
