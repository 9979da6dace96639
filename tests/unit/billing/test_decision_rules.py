"""One table of decision rules (decision_cases.py), held against billing's rules and the finance desk's checks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from billing.domain.offline_payments import DecisionKind, rule_on
from finance_approval.contract import Submission
from finance_approval.desk import DeskError, human_decision
from finance_approval.held import HeldSubmission
from tests.unit.billing.decision_cases import CASES, SUBMITTED, Case
from tollgate_shared.errors import InvalidField
from tollgate_shared.money import from_minor, to_minor


def held() -> HeldSubmission:
    submission = Submission(
        event_id="e-1",
        account_id="a-1",
        offline_payment_id="p-1",
        amount=SUBMITTED,
        currency="INR",
        mode="neft",
        reference="UTR0001",
        paid_on=date(2026, 5, 10),
        bank=None,
        note=None,
        submitted_by="u-1",
    )
    return HeldSubmission(submission, held_because="above the limit", traceparent=None, held_at="")


@pytest.mark.parametrize("case", CASES, ids=[case.rule for case in CASES])
def test_billing_rules_each_decision_as_the_table_says(case: Case) -> None:
    amount_minor = to_minor(Decimal(case.amount)) if case.amount is not None else None
    decide = DecisionKind(case.decision)
    if case.refused_on is not None:
        with pytest.raises(InvalidField) as refused:
            rule_on(to_minor(SUBMITTED), decide, amount_minor=amount_minor, reason=case.reason)
        assert refused.value.extensions["errors"][0]["field"] == case.refused_on
        return
    ruling = rule_on(to_minor(SUBMITTED), decide, amount_minor=amount_minor, reason=case.reason)
    assert ruling.decision is decide
    if case.credited is not None:
        assert from_minor(ruling.amount_minor) == case.credited


@pytest.mark.parametrize("case", CASES, ids=[case.rule for case in CASES])
def test_the_finance_desk_publishes_only_the_decisions_billing_takes(case: Case) -> None:
    if case.refused_on is not None:
        with pytest.raises(DeskError):
            human_decision(held(), decision=case.decision, decided_by="asha", amount=case.amount, reason=case.reason)
        return
    published = human_decision(
        held(), decision=case.decision, decided_by="asha", amount=case.amount, reason=case.reason
    )
    assert published.decision == case.decision
    if case.credited is not None:
        assert (published.amount if published.amount is not None else SUBMITTED) == case.credited
