"""GST rules: GSTIN format and checksum, states, tax per line rounded half-up."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.domain.gst import InvalidGstin, Rates, gstin_check_character, price_line, validate_gstin
from billing.domain.orders import Item, OrderTooLarge, price_order
from tollgate_shared.gst_states import state_code
from tollgate_shared.money import MAX_AMOUNT

RATES = Rates(cgst=Decimal("9"), sgst=Decimal("9"), igst=Decimal("18"))


def test_a_published_gstin_passes() -> None:
    # The sample GSTIN widely used in GST documentation; its check character pins the algorithm.
    assert validate_gstin("27aapfu0939f1zv", state="Maharashtra") == "27AAPFU0939F1ZV"
    assert validate_gstin("27AAPFU0939F1ZV", state="27") == "27AAPFU0939F1ZV"


@pytest.mark.parametrize(
    "gstin",
    ["29AAGCB7383J1Z", "29AAGCB7383J1ZZZ", "2XAAGCB7383J1Z4", "29AAGCB7383J0Z4", "29AAGCB7383J1Y4"],
)
def test_malformed_gstins_fail(gstin: str) -> None:
    with pytest.raises(InvalidGstin):
        validate_gstin(gstin, state="Karnataka")


def test_a_wrong_check_character_or_state_fails() -> None:
    first14 = "29AAGCB7383J1Z"
    right = gstin_check_character(first14)
    wrong = "0" if right != "0" else "1"
    with pytest.raises(InvalidGstin, match="check"):
        validate_gstin(first14 + wrong, state="Karnataka")
    with pytest.raises(InvalidGstin, match="state"):
        validate_gstin(first14 + right, state="Maharashtra")


def test_states_by_name_or_code() -> None:
    assert state_code("karnataka") == "29" and state_code("07") == "07"
    with pytest.raises(ValueError):
        state_code("Atlantis")


def test_intra_state_lines_split_cgst_and_sgst_rounded_half_up() -> None:
    line = price_line("DV certificate", "998319", 3, Decimal("333.35"), intra_state=True, rates=RATES)
    assert line.taxable_value == Decimal("1000.05")
    # 9% of 1000.05 = 90.0045 → 90.00; half-up matters on .005
    assert line.cgst == line.sgst == Decimal("90.00") and line.igst == Decimal("0.00")
    half = price_line("x", "998319", 1, Decimal("0.50"), intra_state=True, rates=RATES)
    assert half.cgst == Decimal("0.05")  # 0.045 → 0.05 (half-up, not banker's 0.04)


def test_inter_state_lines_carry_igst_only() -> None:
    line = price_line("OV certificate", "998319", 2, Decimal("500.00"), intra_state=False, rates=RATES)
    assert (line.cgst, line.sgst, line.igst) == (Decimal("0.00"), Decimal("0.00"), Decimal("180.00"))
    assert line.total == Decimal("1180.00")


def test_an_order_is_priced_line_by_line_and_refused_past_the_maximum() -> None:
    # 847,457,627,118.64 + 9 % CGST and SGST (76,271,186,440.68 each, half-up) is the maximum exactly.
    largest = price_order([Item("EV", "998319", 1, Decimal("847457627118.64"))], intra_state=True, rates=RATES)
    assert largest.total == MAX_AMOUNT and largest.cgst == largest.sgst == Decimal("76271186440.68")
    with pytest.raises(OrderTooLarge) as refused:
        price_order([Item("EV", "998319", 1, Decimal("847457627118.65"))], intra_state=True, rates=RATES)
    assert refused.value.extensions["errors"][0]["field"] == "items"
    # Far beyond 64 bits of paise: still computed exactly, still refused.
    huge = [Item(f"line {n}", "998319", 100_000, MAX_AMOUNT) for n in range(1000)]
    with pytest.raises(OrderTooLarge) as refused:
        price_order(huge, intra_state=False, rates=RATES)
    assert "118000000000000000000.00" in refused.value.extensions["errors"][0]["message"]
