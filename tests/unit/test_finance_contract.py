"""The finance approval service reads and writes the documented contract, and nothing of Tollgate's code."""

from __future__ import annotations

import ast
import asyncio
import io
import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from finance_approval.contract import (
    DECIDED,
    Decision,
    NotTheContract,
    decision_envelope,
    parse_submission,
)
from finance_approval.desk import DeskError, describe, human_decision, prompt
from finance_approval.held import HeldSubmission, HeldSubmissions
from finance_approval.settings import FinanceSettings
from tollgate_shared.events import Envelope, new_event
from tollgate_shared.events.models import OfflinePaymentDecided, OfflinePaymentSubmitted

PACKAGE = Path(__file__).parents[2] / "finance_approval"


def test_it_imports_only_the_standard_library_and_aio_pika() -> None:
    allowed = set(sys.stdlib_module_names) | {"aio_pika", "finance_approval"}
    for module in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            for name in names:
                assert name.split(".")[0] in allowed, f"{module.name} imports {name}"


def billing_submission(**changes: Any) -> bytes:
    """A submission exactly as billing publishes it (its own models and envelope)."""
    values: dict[str, Any] = {
        "offline_payment_id": "0b7f4b5e-9d43-4a34-8a4a-3a9b2f0c1d11",
        "amount": Decimal("5000.50"),
        "currency": "INR",
        "mode": "NEFT",
        "reference": "UTR0001",
        "paid_on": date(2026, 5, 1),
        "bank": "HDFC",
        "submitted_by": "5c0c2bb4-61f5-4c55-9d3f-1f0f7c1e2a22",
    }
    data = OfflinePaymentSubmitted(**{**values, **changes})
    event = new_event(data, source="billing", account_id="acc-1")
    return bytes(event.to_json())


def test_a_submission_from_billing_parses_with_its_money_exact() -> None:
    parsed = parse_submission(billing_submission())
    assert parsed.amount == Decimal("5000.50") and parsed.mode == "neft" and parsed.paid_on == date(2026, 5, 1)
    assert parsed.account_id == "acc-1" and parsed.bank == "HDFC" and parsed.note is None


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda e: b"not json", "not JSON"),
        (lambda e: json.dumps([e]).encode(), "not an envelope"),
        (lambda e: json.dumps({**e, "type": "billing.payment.succeeded"}).encode(), "is not billing.offline_payment"),
        (lambda e: json.dumps({**e, "version": 2}).encode(), "version 2"),
        (lambda e: json.dumps({**e, "data": {**e["data"], "amount": 5000.5}}).encode(), "decimal string"),
        (lambda e: json.dumps({**e, "data": {**e["data"], "amount": "0.00"}}).encode(), "greater than zero"),
        (lambda e: json.dumps({**e, "data": {**e["data"], "paid_on": "yesterday"}}).encode(), "paid_on"),
        (lambda e: json.dumps({**e, "data": {**e["data"], "reference": None}}).encode(), "reference"),
    ],
)
def test_anything_else_is_not_the_contract(mangle: Any, message: str) -> None:
    envelope = json.loads(billing_submission())
    with pytest.raises(NotTheContract, match=message):
        parse_submission(mangle(envelope))


def test_a_decision_envelope_is_what_billing_accepts() -> None:
    decision = Decision("p-1", "approve", "finance-desk", amount=Decimal("4990.5"), reason="bank charges")
    raw = decision_envelope(decision, account_id="acc-1")
    envelope = Envelope.model_validate_json(json.dumps(raw))  # billing's own parsing
    data = envelope.parsed_data()
    assert isinstance(data, OfflinePaymentDecided)
    assert (envelope.type, envelope.version, envelope.source, envelope.account_id) == (DECIDED, 1, "finance", "acc-1")
    assert raw["data"]["amount"] == "4990.50" and data.reason == "bank charges"
    assert decision_envelope(decision, account_id=None)["id"] != raw["id"]  # a new event every time


def test_a_plain_approval_names_no_amount_or_reason() -> None:
    raw = decision_envelope(Decision("p-1", "approve", "finance-rules"), account_id=None)
    assert raw["data"] == {"offline_payment_id": "p-1", "decision": "approve", "decided_by": "finance-rules"}


@pytest.mark.parametrize(
    "bad",
    [
        {"decision": "reject"},
        {"decision": "reject", "reason": "  "},
        {"decision": "approve", "amount": Decimal("0")},
        {"decision": "approve", "amount": Decimal("1.001")},
    ],
)
def test_decisions_billing_would_refuse_are_never_built(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Decision("p-1", decided_by="someone", **bad)


# --- the desk ----------------------------------------------------------------------
def held(amount: str = "5000.00") -> HeldSubmission:
    submission = parse_submission(billing_submission(amount=Decimal(amount)))
    return HeldSubmission(submission, held_because="above the limit", traceparent=None, held_at="")


def test_a_person_approves_another_amount_only_with_a_reason() -> None:
    with pytest.raises(DeskError, match="needs a reason"):
        human_decision(held(), decision="approve", decided_by="asha", amount="4990.00")
    chosen = human_decision(held(), decision="approve", decided_by="asha", amount="4990.00", reason="charges")
    assert chosen.amount == Decimal("4990.00") and chosen.decided_by == "asha"
    same = human_decision(held(), decision="approve", decided_by="asha", amount="5000.00")
    assert same.amount == Decimal("5000.00") and same.reason is None
    with pytest.raises(DeskError, match="decimal string"):
        human_decision(held(), decision="approve", decided_by="asha", amount="4,990")
    with pytest.raises(DeskError, match="rejection needs a reason"):
        human_decision(held(), decision="reject", decided_by="asha", reason=" ")


def test_a_person_never_approves_more_than_was_submitted() -> None:
    # As billing rules: what arrived beyond the submission is rejected and submitted again for what arrived.
    with pytest.raises(DeskError, match=r"more than the 5000\.00 submitted"):
        human_decision(held(), decision="approve", decided_by="asha", amount="5000.01", reason="more arrived")


def test_held_submissions_are_kept_once_and_leave_the_list_when_decided(tmp_path: Path) -> None:
    store = HeldSubmissions(tmp_path / "held.sqlite3")
    first = held("250000.00").submission
    assert store.hold(first, because="above the limit", traceparent="00-abc-def-01") is True
    assert store.hold(first, because="above the limit", traceparent=None) is False  # a redelivery
    [kept] = store.pending()
    assert kept.submission == first and kept.submission.amount == Decimal("250000.00")
    assert kept.traceparent == "00-abc-def-01"
    assert store.find(first.offline_payment_id[:8]) == kept  # a unique prefix is enough
    assert store.find("") is None and store.find("%") is None
    store.mark_decided(first.offline_payment_id, decision="approve", decided_by="asha")
    assert store.pending() == [] and store.find(first.offline_payment_id) is None
    assert "NEFT".lower() in describe(kept) and "250000.00 INR" in describe(kept)


def test_the_prompt_lists_decides_and_explains_itself() -> None:
    class Desk:
        def __init__(self) -> None:
            self.decided: list[tuple[str, str, str | None, str | None]] = []

        async def pending(self) -> list[HeldSubmission]:
            return [held()]

        async def decide(self, payment_id: str, decision: str, *, amount: str | None, reason: str | None) -> str:
            if decision == "reject" and not reason:
                raise DeskError("a rejection needs a reason")
            self.decided.append((payment_id, decision, amount, reason))
            return "ok"

    lines = iter(["list", "approve p-1 4990.00 bank charges", 'reject p-2 "no such transfer"', "bogus", "quit"])

    async def read(_: str) -> str:
        return next(lines)

    out, desk = io.StringIO(), Desk()
    assert asyncio.run(prompt(desk, read=read, out=out)) == 0  # type: ignore[arg-type]
    assert desk.decided == [("p-1", "approve", "4990.00", "bank charges"), ("p-2", "reject", None, "no such transfer")]
    assert "5000.00 INR" in out.getvalue() and out.getvalue().count("commands:") == 2


def test_settings_come_from_the_environment_and_logs_never_see_the_password() -> None:
    settings = FinanceSettings.from_env(
        {"TOLLGATE_FINANCE_AMQP_URL": "amqp://fin%40desk:s3cret@broker:5673/prod", "TOLLGATE_FINANCE_PREFETCH": "5"}
    )
    assert settings.broker_user == "fin@desk" and settings.prefetch == 5
    assert settings.broker_address == "broker:5673/prod" and "s3cret" not in settings.broker_address
    assert FinanceSettings.from_env({"TOLLGATE_FINANCE_AMQP_URL": "amqp://broker/"}).broker_user == "guest"
    assert FinanceSettings.from_env({}).rules_file == Path("finance-rules.toml")
    with pytest.raises(ValueError, match="TOLLGATE_FINANCE_AMQP_URL"):
        FinanceSettings.from_env({}).broker_url()
    with pytest.raises(ValueError, match="PREFETCH"):
        FinanceSettings.from_env({"TOLLGATE_FINANCE_PREFETCH": "0"})
