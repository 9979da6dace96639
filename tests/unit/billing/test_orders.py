"""Pricing an order: the lines' tax by place of supply, the rates recorded, the request's identity."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billing.domain.gst import Rates
from billing.domain.orders import (
    Item,
    Order,
    OrderConflict,
    OrderStatus,
    is_intra_state,
    order_lines,
    price_order,
    request_hash,
    same_order,
)

RATES = Rates(cgst=Decimal("9"), sgst=Decimal("9"), igst=Decimal("18"))
ITEMS = [Item("Certificate", "998314", 2, Decimal("500.00")), Item("Renewal", "998314", 1, Decimal("99.99"))]


def test_within_the_sellers_state_lines_carry_cgst_and_sgst_and_record_those_rates() -> None:
    priced = price_order(ITEMS, intra_state=True, rates=RATES)
    assert (priced.subtotal, priced.cgst, priced.sgst, priced.igst) == (
        Decimal("1099.99"),
        Decimal("99.00"),
        Decimal("99.00"),
        Decimal("0.00"),
    )
    lines = order_lines(priced, intra_state=True, rates=RATES)
    assert [(line.cgst_rate, line.sgst_rate, line.igst_rate) for line in lines] == [
        (Decimal("9"), Decimal("9"), Decimal("0"))
    ] * 2
    assert sum((line.total for line in lines), Decimal("0")) == priced.total


def test_across_states_lines_carry_igst_only() -> None:
    priced = price_order(ITEMS, intra_state=False, rates=RATES)
    assert (priced.cgst, priced.sgst, priced.igst) == (Decimal("0.00"), Decimal("0.00"), Decimal("198.00"))
    lines = order_lines(priced, intra_state=False, rates=RATES)
    assert {(line.cgst_rate, line.sgst_rate, line.igst_rate) for line in lines} == {
        (Decimal("0"), Decimal("0"), Decimal("18"))
    }


def test_the_place_of_supply_is_compared_by_state_code() -> None:
    assert is_intra_state("Karnataka", "29")
    assert not is_intra_state("Kerala", "Karnataka")


def test_the_same_items_are_the_same_request_whatever_the_prices_precision() -> None:
    assert request_hash([Item("A", "998314", 1, Decimal("5"))]) == request_hash(
        [Item("A", "998314", 1, Decimal("5.00"))]
    )
    assert request_hash([Item("A", "998314", 1, Decimal("5"))]) != request_hash([Item("A", "998314", 2, Decimal("5"))])


def test_a_repeated_order_id_answers_the_order_unless_its_items_differ() -> None:
    recorded = Order(
        id="o-1",
        account_id="a-1",
        order_id="order-1",
        request_hash=request_hash(ITEMS),
        status=OrderStatus.PAID,
        currency="INR",
        lines_json="[]",
        subtotal_minor=0,
        cgst_minor=0,
        sgst_minor=0,
        igst_minor=0,
        total_minor=0,
        buyer_json="{}",
        place_of_supply="Karnataka",
        created_at=datetime(2026, 5, 10, tzinfo=UTC),
        paid_at=None,
        payment_method=None,
    )
    assert same_order(recorded, request_hash(ITEMS)) is recorded
    with pytest.raises(OrderConflict):
        same_order(replace(recorded), request_hash(ITEMS[:1]))
