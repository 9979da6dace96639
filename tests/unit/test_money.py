"""Money is a decimal string with two places in JSON and integer minor units in databases."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from tollgate_shared.money import (
    MAX_AMOUNT,
    MAX_MINOR,
    MONEY_PATTERN,
    Money,
    MoneyError,
    PositiveMoney,
    SignedMoney,
    format_money,
    from_minor,
    parse_money,
    to_minor,
)


class Payment(BaseModel):
    amount: Money


class TopUp(BaseModel):
    amount: PositiveMoney


class LedgerEntry(BaseModel):
    amount: SignedMoney


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", "0.00"), ("1180.00", "1180.00"), ("12.5", "12.50"), ("7", "7.00"), ("1000000000000.00", "1000000000000.00")],
)
def test_money_parses_decimal_strings_to_two_places(text: str, expected: str) -> None:
    amount = parse_money(text)

    assert isinstance(amount, Decimal)
    assert str(amount) == expected
    assert amount.as_tuple().exponent == -2


def test_money_accepts_a_decimal_value() -> None:
    assert str(parse_money(Decimal("3.1"))) == "3.10"


@pytest.mark.parametrize(
    "value",
    [
        "3.1",
        "0",
        "0.00",
        "-0",
        "-0.00",
        "-1",
        "1.005",
        "1.500",
        "1E+3",
        "1E-2",
        "1E-3",
        "1000000000000.00",
        "1000000000000.01",
        "NaN",
        "-Infinity",
        "12345678901234567890",
        "0.10",
        "7",
    ],
)
@pytest.mark.parametrize("allow_zero", [True, False])
def test_a_decimal_is_judged_as_its_text_would_be(value: str, allow_zero: bool) -> None:
    """Decimals take a shorter path than strings; both give the same answer, or both refuse."""

    def outcome(given: object) -> object:
        try:
            return str(parse_money(given, allow_zero=allow_zero))
        except MoneyError:
            return MoneyError

    assert outcome(Decimal(value)) == outcome(format(Decimal(value), "f"))


@pytest.mark.parametrize("value", [1.5, 1180, 0, True, False, None, [], {"amount": "1.00"}])
def test_money_rejects_json_numbers_and_other_non_strings(value: object) -> None:
    with pytest.raises(MoneyError, match="decimal string"):
        parse_money(value)


@pytest.mark.parametrize(
    "text",
    ["1.234", "-1", "-0.01", "abc", "1e3", "1E3", " ", "", "NaN", "Infinity", "1.", ".5", "1,00", "+1", "1 000", "١٢"],
)
def test_money_rejects_malformed_strings(text: str) -> None:
    with pytest.raises(MoneyError):
        parse_money(text)


def test_money_rejects_amounts_over_the_maximum() -> None:
    just_over = format_money(MAX_AMOUNT + Decimal("0.01"))

    with pytest.raises(MoneyError, match="exceed"):
        parse_money(just_over)
    with pytest.raises(MoneyError, match="exceed"):
        parse_money("9999999999999")


def test_the_maximum_in_minor_units_is_the_same_maximum() -> None:
    assert to_minor(MAX_AMOUNT) == MAX_MINOR and parse_money(format_money(from_minor(MAX_MINOR))) == MAX_AMOUNT


def test_money_rejects_strings_longer_than_twenty_characters() -> None:
    # Zero-padded, so the value itself is tiny: only the length refuses it.
    padded = "0" * 18 + "1.00"
    assert len(padded) > 20

    with pytest.raises(MoneyError):
        parse_money(padded)
    with pytest.raises(MoneyError):
        parse_money("1" * 10_000)


def test_money_allows_zero_unless_told_not_to() -> None:
    assert parse_money("0.00") == Decimal("0")

    with pytest.raises(MoneyError, match="greater than zero"):
        parse_money("0.00", allow_zero=False)


def test_positive_money_rejects_zero() -> None:
    with pytest.raises(ValidationError, match="greater than zero"):
        TopUp(amount="0.00")

    assert TopUp(amount="0.01").amount == Decimal("0.01")


@pytest.mark.parametrize("text", ["0.00", "0.01", "12.50", "1180.00", "1000000000000.00"])
def test_to_minor_and_from_minor_round_trip(text: str) -> None:
    amount = parse_money(text)

    assert from_minor(to_minor(amount)) == amount
    assert str(from_minor(to_minor(amount))) == text


def test_to_minor_counts_paise() -> None:
    assert to_minor(Decimal("1180.00")) == 118000
    assert to_minor(Decimal("12.5")) == 1250
    assert to_minor(Decimal("-5.00")) == -500


def test_to_minor_refuses_fractions_of_a_paisa() -> None:
    with pytest.raises(MoneyError, match="two decimal places"):
        to_minor(Decimal("0.005"))


def test_from_minor_gives_two_places() -> None:
    assert str(from_minor(118000)) == "1180.00"
    assert str(from_minor(5)) == "0.05"
    assert str(from_minor(-250)) == "-2.50"


def test_format_money_always_writes_two_places() -> None:
    assert format_money(Decimal("5")) == "5.00"
    assert format_money(Decimal("12.5")) == "12.50"
    assert format_money(Decimal("-3.1")) == "-3.10"
    assert format_money(Decimal("1E+3")) == "1000.00"


def test_money_field_serialises_to_a_json_string() -> None:
    payment = Payment(amount="1180")

    assert payment.model_dump_json() == '{"amount":"1180.00"}'
    assert payment.model_dump() == {"amount": "1180.00"}
    assert json.loads(payment.model_dump_json())["amount"] == "1180.00"


def test_money_field_rejects_a_json_float() -> None:
    with pytest.raises(ValidationError, match="decimal string"):
        Payment.model_validate_json('{"amount": 1180.0}')


def test_money_field_json_schema_is_a_string_with_the_pattern() -> None:
    for mode in ("validation", "serialization"):
        schema = Payment.model_json_schema(mode=mode)["properties"]["amount"]

        assert schema["type"] == "string"
        assert schema["pattern"] == MONEY_PATTERN.pattern == r"^[0-9]+(\.[0-9]{1,2})?$"


def test_signed_money_accepts_negative_strings() -> None:
    entry = LedgerEntry(amount="-5.00")

    assert entry.amount == Decimal("-5.00")
    assert entry.model_dump_json() == '{"amount":"-5.00"}'
    assert LedgerEntry(amount="5").model_dump_json() == '{"amount":"5.00"}'


@pytest.mark.parametrize("text", ["--5", "-abc", "-1.234", "-", "-1000000000000.01"])
def test_signed_money_rejects_malformed_negatives(text: str) -> None:
    with pytest.raises(ValidationError):
        LedgerEntry(amount=text)


def test_signed_money_json_schema_allows_a_minus_sign() -> None:
    schema = LedgerEntry.model_json_schema()["properties"]["amount"]

    assert schema["type"] == "string"
    assert schema["pattern"] == r"^-?[0-9]+(\.[0-9]{1,2})?$"


def test_signed_money_accepts_a_negative_decimal_from_the_database() -> None:
    entry = LedgerEntry(amount=from_minor(-500))

    assert entry.model_dump_json() == '{"amount":"-5.00"}'


@pytest.mark.parametrize("text", [" 12.50", "12.50 ", "\t1.00", "1.00\n"])
def test_money_with_surrounding_whitespace_is_refused(text: str) -> None:
    # DESIGN §9: money input matches ^[0-9]+(\.[0-9]{1,2})?$ exactly.
    with pytest.raises(MoneyError):
        parse_money(text)
