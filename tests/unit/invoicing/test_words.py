"""The total in words, Indian system: "Rupees One Lakh ... and Seventy Eight Paise Only"."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from invoicing.domain.words import amount_in_words, integer_in_words


def test_an_invoice_total_reads_in_lakhs_thousands_and_paise() -> None:
    assert amount_in_words(Decimal("123456.78")) == (
        "Rupees One Lakh Twenty Three Thousand Four Hundred Fifty Six and Seventy Eight Paise Only"
    )


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, "Zero"),
        (1, "One"),
        (10, "Ten"),
        (11, "Eleven"),
        (19, "Nineteen"),
        (20, "Twenty"),
        (21, "Twenty One"),
        (99, "Ninety Nine"),
        (100, "One Hundred"),
        (101, "One Hundred One"),
        (110, "One Hundred Ten"),
        (999, "Nine Hundred Ninety Nine"),
        (1000, "One Thousand"),
        (1001, "One Thousand One"),
        (10_000, "Ten Thousand"),
        (99_999, "Ninety Nine Thousand Nine Hundred Ninety Nine"),
        (100_000, "One Lakh"),
        (100_001, "One Lakh One"),
        (250_000, "Two Lakh Fifty Thousand"),
        (9_999_999, "Ninety Nine Lakh Ninety Nine Thousand Nine Hundred Ninety Nine"),
        (10_000_000, "One Crore"),
        (10_000_001, "One Crore One"),
        (12_345_678, "One Crore Twenty Three Lakh Forty Five Thousand Six Hundred Seventy Eight"),
        (999_999_999, "Ninety Nine Crore Ninety Nine Lakh Ninety Nine Thousand Nine Hundred Ninety Nine"),
        (1_000_000_000, "One Hundred Crore"),
        (1_230_000_000, "One Hundred Twenty Three Crore"),
        (
            1_234_567_890,
            "One Hundred Twenty Three Crore Forty Five Lakh Sixty Seven Thousand Eight Hundred Ninety",
        ),
        (100_000_000_000, "Ten Thousand Crore"),
        (1_000_000_000_000, "One Lakh Crore"),
    ],
)
def test_integers_read_in_the_indian_system(number: int, words: str) -> None:
    assert integer_in_words(number) == words


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("0", "Rupees Zero Only"),
        ("0.00", "Rupees Zero Only"),
        ("1", "Rupees One Only"),
        ("99", "Rupees Ninety Nine Only"),
        ("100.00", "Rupees One Hundred Only"),
        ("1180.00", "Rupees One Thousand One Hundred Eighty Only"),
        ("100000", "Rupees One Lakh Only"),
        ("10000000.00", "Rupees One Crore Only"),
        ("1000000000", "Rupees One Hundred Crore Only"),
        ("1.01", "Rupees One and One Paisa Only"),
        ("1.99", "Rupees One and Ninety Nine Paise Only"),
        ("5.5", "Rupees Five and Fifty Paise Only"),
        ("10.05", "Rupees Ten and Five Paise Only"),
        ("0.50", "Fifty Paise Only"),
        ("0.01", "One Paisa Only"),
        ("0.99", "Ninety Nine Paise Only"),
        (
            "1234567890.12",
            "Rupees One Hundred Twenty Three Crore Forty Five Lakh Sixty Seven Thousand "
            "Eight Hundred Ninety and Twelve Paise Only",
        ),
    ],
)
def test_rupee_amounts(amount: str, words: str) -> None:
    assert amount_in_words(Decimal(amount)) == words


def test_trailing_zeros_beyond_two_places_are_the_same_amount() -> None:
    assert amount_in_words(Decimal("1.500")) == "Rupees One and Fifty Paise Only"


@pytest.mark.parametrize("amount", ["-1", "-0.01", "1.005", "0.001", "NaN", "Infinity"])
def test_negative_unrepresentable_and_non_finite_amounts_are_refused(amount: str) -> None:
    with pytest.raises(ValueError, match="amount"):
        amount_in_words(Decimal(amount))


@pytest.mark.parametrize("amount", [1.5, 2, "3.00"])
def test_only_decimals_are_accepted(amount: Any) -> None:
    with pytest.raises(TypeError, match="Decimal"):
        amount_in_words(amount)


def test_negative_integers_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        integer_in_words(-1)


@pytest.mark.parametrize(
    ("amount", "currency", "words"),
    [
        ("1250.50", "USD", "US Dollars One Thousand Two Hundred Fifty and Fifty Cents Only"),
        ("0.01", "EUR", "One Cent Only"),
        ("100000", "GBP", "Pounds Sterling One Lakh Only"),
        ("100.50", "AED", "AED One Hundred and 50/100 Only"),
        ("100.05", "AED", "AED One Hundred and 05/100 Only"),
        ("0.50", "AED", "AED Zero and 50/100 Only"),
        ("7", "AED", "AED Seven Only"),
    ],
)
def test_other_currencies_use_their_name_or_code(amount: str, currency: str, words: str) -> None:
    assert amount_in_words(Decimal(amount), currency) == words


@pytest.mark.parametrize("currency", ["inr", "Rupees", "", "IN", "INR\n"])
def test_a_currency_must_be_an_iso_code(currency: str) -> None:
    with pytest.raises(ValueError, match="ISO 4217"):
        amount_in_words(Decimal("1"), currency)
