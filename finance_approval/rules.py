"""The rules file: which submissions are approved or rejected without a human.

Reject rules are tried first, in file order (the first that matches decides);
then the auto-approve limit of the payment's mode; anything else is held for a
person. Pure: no I/O but reading the file in `load_rules`.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from finance_approval.contract import MONEY, Submission, format_money


class BadRules(ValueError):
    """The rules file is not what `load_rules` accepts; the message says where."""


@dataclass(frozen=True)
class RejectRule:
    """Reject with `reason` when every condition given matches."""

    reason: str
    modes: frozenset[str] | None = None
    above: Decimal | None = None
    reference_matches: re.Pattern[str] | None = None
    paid_more_than_days_ago: int | None = None

    def describe(self) -> str:
        conditions = []
        if self.modes is not None:
            conditions.append(f"mode in {sorted(self.modes)}")
        if self.above is not None:
            conditions.append(f"amount above {format_money(self.above)}")
        if self.reference_matches is not None:
            conditions.append(f"reference matches {self.reference_matches.pattern!r}")
        if self.paid_more_than_days_ago is not None:
            conditions.append(f"paid more than {self.paid_more_than_days_ago} days ago")
        return " and ".join(conditions)

    def matches(self, submission: Submission, *, today: date) -> bool:
        return (
            (self.modes is None or submission.mode in self.modes)
            and (self.above is None or submission.amount > self.above)
            and (self.reference_matches is None or bool(self.reference_matches.search(submission.reference)))
            and (
                self.paid_more_than_days_ago is None
                or submission.paid_on < today - timedelta(days=self.paid_more_than_days_ago)
            )
        )


@dataclass(frozen=True)
class Rules:
    decided_by: str = "finance-rules"
    currency: str | None = None
    auto_approve: dict[str, Decimal] = field(default_factory=dict)
    reject: tuple[RejectRule, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """What the rules say: `approve`, `reject` (with the reason billing shows the user) or `hold` (with why)."""

    outcome: Literal["approve", "reject", "hold"]
    reason: str


def evaluate(rules: Rules, submission: Submission, *, today: date) -> Verdict:
    for rule in rules.reject:
        if rule.matches(submission, today=today):
            return Verdict("reject", rule.reason)
    if rules.currency is not None and submission.currency != rules.currency:
        return Verdict("hold", f"currency {submission.currency} is not {rules.currency}")
    limit = rules.auto_approve.get(submission.mode)
    if limit is None:
        return Verdict("hold", f"no auto-approve limit for {submission.mode}")
    if submission.amount > limit:
        return Verdict("hold", f"above the auto-approve limit of {format_money(limit)} for {submission.mode}")
    return Verdict("approve", f"within the auto-approve limit of {format_money(limit)} for {submission.mode}")


def held_as_duplicate(submission: Submission, approved: str) -> Verdict:
    """What becomes of a submission the rules would approve when its reference was approved before.

    Held rather than rejected: the same reference is a second credit of one
    transfer far more often than a new one, but only a person with the bank
    statement can tell (billing may have turned the first approval into a
    rejection, and then the user rightly submits it again).
    """
    return Verdict(
        "hold",
        f"reference {submission.reference} was approved before, as offline payment {approved}: "
        "check that this is another transfer",
    )


# --- reading the file ----------------------------------------------------------
TOP_LEVEL = {"decided_by", "currency", "auto_approve", "reject"}
REJECT_KEYS = {"reason", "modes", "above", "reference_matches", "paid_more_than_days_ago"}


def _money(value: Any, where: str) -> Decimal:
    # TOML floats are binary floats: money must be written as a string.
    if not isinstance(value, str) or not MONEY.match(value):
        raise BadRules(f'{where}: write money as a decimal string, e.g. "10000.00" (got {value!r})')
    return Decimal(value)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRules(f"{where}: must be a non-empty string")
    return value.strip()


def _unknown(keys: Any, allowed: set[str], where: str) -> None:
    # A misspelt key would silently disable a rule: refuse it instead.
    if extra := set(keys) - allowed:
        raise BadRules(f"{where}: unknown keys {sorted(extra)} (allowed: {sorted(allowed)})")


def _reject_rule(raw: Any, where: str) -> RejectRule:
    if not isinstance(raw, dict):
        raise BadRules(f"{where}: must be a table")
    _unknown(raw, REJECT_KEYS, where)
    if not set(raw) - {"reason"}:
        raise BadRules(f"{where}: needs at least one condition besides the reason")
    modes = raw.get("modes")
    if modes is not None and (not isinstance(modes, list) or not all(isinstance(m, str) for m in modes)):
        raise BadRules(f"{where}.modes: must be a list of strings")
    days = raw.get("paid_more_than_days_ago")
    if days is not None and (not isinstance(days, int) or isinstance(days, bool) or days < 0):
        raise BadRules(f"{where}.paid_more_than_days_ago: must be a whole number of days")
    pattern = raw.get("reference_matches")
    try:
        compiled = re.compile(_text(pattern, f"{where}.reference_matches")) if pattern is not None else None
    except re.error as exc:
        raise BadRules(f"{where}.reference_matches: {exc}") from None
    return RejectRule(
        reason=_text(raw.get("reason"), f"{where}.reason"),
        modes=frozenset(m.lower() for m in modes) if modes is not None else None,
        above=_money(raw["above"], f"{where}.above") if "above" in raw else None,
        reference_matches=compiled,
        paid_more_than_days_ago=days,
    )


def parse_rules(raw: dict[str, Any]) -> Rules:
    _unknown(raw, TOP_LEVEL, "rules")
    approve = raw.get("auto_approve", {})
    if not isinstance(approve, dict):
        raise BadRules('auto_approve: must be a table of mode = "amount"')
    rejects = raw.get("reject", [])
    if not isinstance(rejects, list):
        raise BadRules("reject: must be an array of tables ([[reject]])")
    currency = raw.get("currency")
    return Rules(
        decided_by=_text(raw.get("decided_by", "finance-rules"), "decided_by"),
        currency=_text(currency, "currency") if currency is not None else None,
        auto_approve={mode.lower(): _money(v, f"auto_approve.{mode}") for mode, v in approve.items()},
        reject=tuple(_reject_rule(r, f"reject[{i}]") for i, r in enumerate(rejects)),
    )


def load_rules(path: Path) -> Rules:
    try:
        with path.open("rb") as file:
            raw = tomllib.load(file)
    except OSError as exc:
        raise BadRules(f"cannot read the rules file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadRules(f"{path} is not valid TOML: {exc}") from None
    return parse_rules(raw)
