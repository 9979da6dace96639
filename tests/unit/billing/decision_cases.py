"""The rules every decision of an offline payment follows, as one table of cases.

Billing applies them (`billing.domain.offline_payments.rule_on`) to every
decision, whichever way it arrives; the finance approval service checks them
before it publishes one (`finance_approval.desk.human_decision`), so that
billing never has to park its decision. test_decision_rules.py runs this table
against both. (The finance desk is stricter in one more way: a rejection
carries no amount, which billing ignores.)
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

SUBMITTED = Decimal("5000.00")


@dataclass(frozen=True)
class Case:
    rule: str  # the rule, in words (the test's id)
    decision: Literal["approve", "reject"]
    amount: str | None
    reason: str | None
    refused_on: Literal["amount", "reason"] | None  # the field a refusal names; None when the decision stands
    credited: Decimal | None = None  # what an approval that stands credits


CASES = [
    Case("approving what was submitted needs no reason", "approve", "5000.00", None, None, SUBMITTED),
    Case("approving without an amount approves what was submitted", "approve", None, None, None, SUBMITTED),
    Case("approving what was submitted may give a reason", "approve", "5000.00", "as submitted", None, SUBMITTED),
    Case("approving less names why", "approve", "4990.00", "bank charges", None, Decimal("4990.00")),
    Case("approving less without a reason is refused", "approve", "4990.00", None, "reason"),
    Case("approving less with a blank reason is refused", "approve", "4990.00", "   ", "reason"),
    Case("approving more than submitted is refused", "approve", "5000.01", "more arrived", "amount"),
    Case("approving more than submitted without a reason is refused", "approve", "6000.00", None, "amount"),
    Case("approving nothing is refused", "approve", "0.00", "nothing arrived", "amount"),
    Case("rejecting with a reason stands", "reject", None, "no such transfer", None),
    Case("rejecting without a reason is refused", "reject", None, None, "reason"),
    Case("rejecting with a blank reason is refused", "reject", None, "  ", "reason"),
]
