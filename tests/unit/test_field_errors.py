"""A 422 names every wrong field at once, in the words a person uses; each error keeps its field and a stable type."""

from __future__ import annotations

import json
from datetime import date
from typing import Literal

import pytest
from fastapi import FastAPI
from pydantic import EmailStr, Field

from auth.domain.ip_rules import validated_range
from billing.domain.offline_payments import check_submission
from billing.domain.profiles import check_profile
from tests.support.asgi import request
from tollgate_shared.errors import FieldChecks, InvalidFields, install_problem_handlers
from tollgate_shared.fields import CalendarDate, RequestBody
from tollgate_shared.money import PositiveMoney

VALIDATOR_WORDS = ("should", "Input", "String", "Field required", "valid integer", "_")


class Everything(RequestBody):
    name: str = Field(min_length=1, max_length=5)
    code: str = Field(min_length=3)
    sac: str = Field(pattern=r"^99[0-9]{4}$")
    count: int = Field(ge=1, le=10)
    amount: PositiveMoney
    day: CalendarDate
    method: Literal["credits", "online"]
    email: EmailStr
    items: list[int] = Field(min_length=1)
    wanted: str


def build_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/everything")
    async def everything(body: Everything) -> None:
        return None

    @app.post("/several")
    async def several() -> None:
        checks = FieldChecks()
        checks.add("paid_on", "must not be in the future")
        checks.run(validated_range, "10.0.0.9", "10.0.0.1")
        checks.raise_if_any()

    return app


async def errors_of(body: dict[str, object], path: str = "/everything") -> dict[str, dict[str, str]]:
    answer = await request(
        build_app(), "POST", path, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 422, answer.text
    return {error["field"]: error for error in answer.json()["errors"]}


async def test_every_wrong_field_of_a_body_is_named_in_a_persons_words() -> None:
    errors = await errors_of(
        {
            "name": "",
            "code": "ab",
            "sac": "12",
            "count": "two",
            "amount": "12.345",
            "day": "31/01/2026",
            "method": "cash",
            "email": "nobody",
            "items": [],
            "extra": 1,
        }
    )
    messages = {field: error["message"] for field, error in errors.items()}
    assert messages == {
        "name": "must be filled in",
        "code": "must be at least 3 characters long",
        "sac": "is not in the expected form",
        "count": "must be a whole number",
        "amount": "must be a non-negative amount with at most two decimal places",
        "day": "must be a date written YYYY-MM-DD",
        "method": "must be one of 'credits' or 'online'",
        "email": "must be an email address, such as name@example.com",
        "items": "must have at least one entry",
        "wanted": "must be filled in",
        "extra": "is not a field of this request",
    }
    for message in messages.values():
        assert not any(word in message for word in VALIDATOR_WORDS), message


async def test_api_clients_keep_the_field_and_pydantics_error_type() -> None:
    errors = await errors_of({"name": "toolong", "code": "", "count": 11})
    assert (
        errors["name"]["type"] == "string_too_long" and errors["name"]["message"] == "must be at most 5 characters long"
    )
    assert errors["code"]["type"] == "string_too_short" and errors["code"]["message"] == "must be filled in"
    assert errors["count"]["type"] == "less_than_equal" and errors["count"]["message"] == "must be at most 10"
    assert errors["wanted"]["type"] == "missing"


async def test_domain_checks_gathered_in_one_answer() -> None:
    errors = await errors_of({}, "/several")
    assert errors == {
        "paid_on": {"field": "paid_on", "message": "must not be in the future", "type": "invalid"},
        "end_ip": {"field": "end_ip", "message": "must not be lower than the start address", "type": "invalid"},
    }


def test_field_checks_raise_nothing_when_nothing_is_wrong() -> None:
    checks = FieldChecks()
    assert checks.run(validated_range, "10.0.0.1", "10.0.0.9") is not None
    checks.raise_if_any()
    assert not checks.wrong("end_ip")


def test_an_ip_range_names_both_wrong_addresses_at_once() -> None:
    with pytest.raises(InvalidFields) as refused:
        validated_range("10.0.0", "nowhere")
    assert [error["field"] for error in refused.value.errors] == ["start_ip", "end_ip"]
    with pytest.raises(InvalidFields) as mixed:
        validated_range("10.0.0.1", "2001:db8::1")
    assert "start_ip" not in mixed.value.errors[0]["message"]
    assert "same kind of address as the start address" in mixed.value.errors[0]["message"]


def test_an_offline_submission_names_the_date_and_the_reference_at_once() -> None:
    with pytest.raises(InvalidFields) as refused:
        check_submission(reference="--", paid_on=date(2026, 1, 2), today=date(2026, 1, 1))
    assert {error["field"] for error in refused.value.errors} == {"paid_on", "reference"}


def test_a_billing_profile_names_the_state_and_the_gstin_at_once() -> None:
    with pytest.raises(InvalidFields) as refused:
        check_profile(legal_name="Acme", address="1 MG Road", state="Atlantis", gstin="29AAACT1234A1ZY")
    assert {error["field"]: error["message"] for error in refused.value.errors} == {
        "state": "is not an Indian state or union territory",
        "gstin": "has a wrong check character",
    }
