"""The finance approval service's rules file: reject first, then auto-approve per mode, else hold."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from finance_approval.approved import ApprovedReferences
from finance_approval.broker import SubmissionConsumer
from finance_approval.contract import Submission
from finance_approval.held import HeldSubmissions
from finance_approval.rules import BadRules, Rules, Verdict, evaluate, held_as_duplicate, load_rules, parse_rules
from tollgate_shared.events import new_event
from tollgate_shared.events.models import OfflinePaymentSubmitted

TODAY = date(2026, 5, 10)
EXAMPLE = Path(__file__).parents[2] / "finance_approval" / "rules.example.toml"

RULES = parse_rules(
    {
        "decided_by": "finance-desk-rules",
        "currency": "INR",
        "auto_approve": {"NEFT": "10000.00", "imps": "500"},
        "reject": [
            {"reason": "No cheques, please.", "modes": ["cheque"]},
            {"reason": "Too much for an offline payment.", "above": "1000000.00"},
            {"reason": "Test references are not payments.", "reference_matches": "^TEST"},
            {"reason": "Too old.", "paid_more_than_days_ago": 90},
        ],
    }
)


def submission(**changes: Any) -> Submission:
    base = Submission(
        event_id="e-1",
        account_id="a-1",
        offline_payment_id="p-1",
        amount=Decimal("5000.00"),
        currency="INR",
        mode="neft",
        reference="UTR0001",
        paid_on=TODAY,
        bank="HDFC",
        note=None,
        submitted_by="u-1",
    )
    return replace(base, **changes)


def outcome(rules: Rules = RULES, **changes: Any) -> tuple[str, str]:
    verdict = evaluate(rules, submission(**changes), today=TODAY)
    return verdict.outcome, verdict.reason


def test_amounts_up_to_the_mode_limit_are_approved_inclusive() -> None:
    assert outcome()[0] == "approve"
    assert outcome(amount=Decimal("10000.00"))[0] == "approve"
    assert outcome(mode="imps", amount=Decimal("500.00"))[0] == "approve"  # modes are matched without case


def test_amounts_above_the_limit_are_held_for_a_person() -> None:
    assert outcome(amount=Decimal("10000.01")) == ("hold", "above the auto-approve limit of 10000.00 for neft")


def test_a_mode_without_a_limit_is_held() -> None:
    assert outcome(mode="wire", amount=Decimal("1.00")) == ("hold", "no auto-approve limit for wire")


def test_another_currency_is_held() -> None:
    assert outcome(currency="USD") == ("hold", "currency USD is not INR")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"mode": "cheque"}, "No cheques, please."),
        ({"amount": Decimal("1000000.01"), "mode": "rtgs"}, "Too much for an offline payment."),
        ({"reference": "TEST-42"}, "Test references are not payments."),
        ({"paid_on": date(2026, 2, 8)}, "Too old."),
    ],
)
def test_reject_rules_win_even_under_the_limit(changes: dict[str, Any], reason: str) -> None:
    assert outcome(**changes) == ("reject", reason)


def test_reject_rule_edges_do_not_match() -> None:
    assert outcome(amount=Decimal("1000000.00"), mode="rtgs")[0] == "hold"  # `above` is strictly greater
    assert outcome(paid_on=date(2026, 2, 9))[0] == "approve"  # exactly 90 days ago is not older
    assert outcome(reference="UTR-TEST")[0] == "approve"  # the pattern is anchored by the rule, not by us


def test_every_condition_of_a_rule_must_match() -> None:
    rules = parse_rules(
        {"auto_approve": {"neft": "10000.00"}, "reject": [{"reason": "Big NEFT", "modes": ["neft"], "above": "100"}]}
    )
    assert outcome(rules, amount=Decimal("100.00"))[0] == "approve"
    assert outcome(rules, amount=Decimal("100.01"))[0] == "reject"
    assert outcome(rules, amount=Decimal("100.01"), mode="imps")[0] == "hold"


def test_the_first_matching_reject_rule_gives_the_reason() -> None:
    assert outcome(mode="cheque", reference="TEST-1") == ("reject", "No cheques, please.")


def test_nothing_is_approved_without_limits() -> None:
    assert outcome(Rules())[0] == "hold"
    assert Rules().decided_by == "finance-rules"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"auto_approve": {"neft": 10000.0}}, "write money as a decimal string"),
        ({"auto_approve": {"neft": 10000}}, "write money as a decimal string"),
        ({"auto_approve": {"neft": "10,000"}}, "write money as a decimal string"),
        ({"auto_aprove": {"neft": "1.00"}}, "unknown keys ['auto_aprove']"),
        ({"reject": [{"reason": "x", "mode": ["cheque"]}]}, "reject[0]: unknown keys ['mode']"),
        ({"reject": [{"reason": "everything"}]}, "needs at least one condition"),
        ({"reject": [{"modes": ["cheque"]}]}, "reject[0].reason: must be a non-empty string"),
        ({"reject": [{"reason": "x", "reference_matches": "("}]}, "reject[0].reference_matches"),
        ({"reject": [{"reason": "x", "paid_more_than_days_ago": "90"}]}, "whole number of days"),
        ({"reject": [{"reason": "x", "modes": "cheque"}]}, "must be a list of strings"),
        ({"reject": {"reason": "x"}}, "array of tables"),
        ({"decided_by": ""}, "decided_by: must be a non-empty string"),
    ],
)
def test_a_rules_file_that_could_mean_something_else_is_refused(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRules, match=re.escape(message)):
        parse_rules(raw)


def test_the_file_is_toml_and_errors_name_it(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text('[auto_approve]\nneft = "2500.50"\n')
    assert load_rules(path).auto_approve == {"neft": Decimal("2500.50")}
    path.write_text("[auto_approve\n")
    with pytest.raises(BadRules, match="is not valid TOML"):
        load_rules(path)
    with pytest.raises(BadRules, match="cannot read the rules file"):
        load_rules(tmp_path / "missing.toml")


def test_the_example_rules_file_is_valid_and_means_what_it_says() -> None:
    rules = load_rules(EXAMPLE)
    assert rules.currency == "INR" and rules.auto_approve["neft"] == Decimal("10000.00")
    assert evaluate(rules, submission(mode="cheque"), today=TODAY).outcome == "reject"
    assert evaluate(rules, submission(amount=Decimal("10000.01")), today=TODAY).outcome == "hold"


def test_a_reference_approved_before_is_held_for_a_person_however_it_is_typed(tmp_path: Path) -> None:
    approved = ApprovedReferences(tmp_path / "held.sqlite3")
    first = submission()
    assert approved.claim(first) is None
    assert approved.claim(first) is None  # the same submission redelivered: approved again, billing applies it once
    again = submission(event_id="e-2", offline_payment_id="p-2", reference="utr 0001")
    assert approved.claim(again) == "p-1"
    assert ApprovedReferences(tmp_path / "held.sqlite3").claim(again) == "p-1"  # kept in the file
    assert approved.claim(submission(event_id="e-3", account_id="a-2", offline_payment_id="p-3")) is None
    assert held_as_duplicate(again, "p-1") == Verdict(
        "hold", "reference utr 0001 was approved before, as offline payment p-1: check that this is another transfer"
    )


class FakeMessage:
    def __init__(self, body: bytes) -> None:
        self.body, self.message_id, self.headers = body, "m", {}
        self.settled: list[str] = []
        self.channel = type("Channel", (), {"is_closed": False})()

    async def ack(self) -> None:
        self.settled.append("ack")

    async def nack(self, requeue: bool = True) -> None:
        self.settled.append("nack")

    async def reject(self, requeue: bool = False) -> None:
        self.settled.append("reject")


class FakePublisher:
    def __init__(self) -> None:
        self.published: list[Any] = []

    def message(self, decision: Any, *, account_id: str | None, traceparent: str | None) -> Any:
        return type("Message", (), {"decision": decision, "message_id": f"d-{len(self.published)}"})()

    async def publish(self, message: Any) -> None:
        self.published.append(message.decision)


def submitted(payment_id: str, reference: str) -> bytes:
    data = OfflinePaymentSubmitted(
        offline_payment_id=payment_id,
        amount=Decimal("5000.00"),
        currency="INR",
        mode="neft",
        reference=reference,
        paid_on=date.today(),  # the service judges by the real date
        bank=None,
        note=None,
        submitted_by="u-1",
    )
    return new_event(data, source="billing", account_id="a-1").to_json()


def test_the_service_approves_a_transfer_once_and_holds_the_same_reference_submitted_again(tmp_path: Path) -> None:
    held, publisher = HeldSubmissions(tmp_path / "held.sqlite3"), FakePublisher()
    consumer = SubmissionConsumer(
        rules=RULES,
        held=held,
        approved=ApprovedReferences(tmp_path / "held.sqlite3"),
        publisher=publisher,  # type: ignore[arg-type]
        stopping=asyncio.Event(),
    )
    first, redelivered = FakeMessage(submitted("p-1", "UTR0001")), FakeMessage(submitted("p-1", "UTR0001"))
    again = FakeMessage(submitted("p-2", "UTR-0001"))  # the same transfer, as another submission

    async def decide() -> None:
        for message in (first, redelivered, again):
            await consumer.handle(message)  # type: ignore[arg-type]

    asyncio.run(decide())
    assert [(d.offline_payment_id, d.decision) for d in publisher.published] == [("p-1", "approve"), ("p-1", "approve")]
    assert [m.settled for m in (first, redelivered, again)] == [["ack"]] * 3
    [kept] = held.pending()
    assert kept.submission.offline_payment_id == "p-2"
    assert "approved before, as offline payment p-1" in kept.held_because
