"""The finance desk: a person decides the submissions the rules held, one command or a prompt."""

from __future__ import annotations

import asyncio
import shlex
import sys
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Literal, TextIO

import aio_pika
from aio_pika.abc import AbstractConnection

from finance_approval.approved import ApprovedReferences
from finance_approval.broker import BROKER_ERRORS, DecisionPublisher
from finance_approval.contract import Decision, NotTheContract, format_money, parse_money
from finance_approval.held import HeldSubmission, HeldSubmissions
from finance_approval.settings import FinanceSettings


class DeskError(ValueError):
    """A decision the desk refuses before publishing; the message says why."""


def human_decision(
    held: HeldSubmission,
    *,
    decision: Literal["approve", "reject"],
    decided_by: str,
    amount: str | None = None,
    reason: str | None = None,
) -> Decision:
    """The decision to publish, checked as billing will check it (so it is never parked there)."""
    try:
        approved = parse_money(amount) if amount is not None else None
    except NotTheContract as exc:
        raise DeskError(str(exc)) from None
    reason = (reason or "").strip() or None
    if decision == "reject" and reason is None:
        raise DeskError("a rejection needs a reason")
    if decision == "reject" and approved is not None:
        raise DeskError("a rejection has no amount")
    if approved is not None and approved > held.submission.amount:
        # Billing's rule too: what arrived beyond the submission is submitted again after a rejection.
        raise DeskError(
            f"approving more than the {format_money(held.submission.amount)} submitted: reject it, and the user "
            "submits the transfer again for the amount that arrived"
        )
    if approved is not None and approved != held.submission.amount and reason is None:
        raise DeskError("approving another amount than submitted needs a reason")
    return Decision(held.submission.offline_payment_id, decision, decided_by, amount=approved, reason=reason)


def describe(held: HeldSubmission) -> str:
    s = held.submission
    details = f"{s.mode} {format_money(s.amount)} {s.currency} ref {s.reference} paid {s.paid_on}"
    extras = " ".join(f"{k} {v!r}" for k, v in (("bank", s.bank), ("note", s.note)) if v)
    return f"{s.offline_payment_id}  {details}{' ' + extras if extras else ''}  (held: {held.held_because})"


class Desk:
    """Held submissions and a publisher of decisions, for one session."""

    def __init__(self, settings: FinanceSettings) -> None:
        self.settings = settings
        self.held = HeldSubmissions(settings.held_file)
        self.approved = ApprovedReferences(settings.held_file)
        self._connection: AbstractConnection | None = None
        self._publisher: DecisionPublisher | None = None

    async def __aenter__(self) -> Desk:
        return self

    async def __aexit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self._connection is not None:
            await self._connection.close()

    async def pending(self) -> list[HeldSubmission]:
        return await asyncio.to_thread(self.held.pending)

    async def decide(
        self, payment_id: str, decision: Literal["approve", "reject"], *, amount: str | None, reason: str | None
    ) -> str:
        """Publish a person's decision (confirmed), then mark it decided here; what happened, in words."""
        held = await asyncio.to_thread(self.held.find, payment_id)
        if held is None:
            raise DeskError(f"no undecided held submission {payment_id!r} (see `pending`)")
        chosen = human_decision(
            held, decision=decision, decided_by=self.settings.operator, amount=amount, reason=reason
        )
        publisher = await self._open_publisher()
        message = publisher.message(chosen, account_id=held.submission.account_id, traceparent=held.traceparent)
        await publisher.publish(message)
        await asyncio.to_thread(
            self.held.mark_decided, held.submission.offline_payment_id, decision=decision, decided_by=chosen.decided_by
        )
        if decision == "approve":  # the rules hold this reference from now on (a first approval stays the one named)
            await asyncio.to_thread(self.approved.claim, held.submission)
        shown = format_money(chosen.amount or held.submission.amount)
        verb = f"approved for {shown}" if decision == "approve" else "rejected"
        return f"{held.submission.offline_payment_id} {verb} by {chosen.decided_by}; event {message.message_id}"

    async def _open_publisher(self) -> DecisionPublisher:
        if self._publisher is None:
            self._connection = await aio_pika.connect(self.settings.broker_url())
            self._publisher = await DecisionPublisher.open(self._connection, self.settings.broker_user)
        return self._publisher


# --- the prompt ----------------------------------------------------------------
HELP = """commands:
  list                              held submissions nobody decided yet
  approve ID [AMOUNT [REASON...]]   approve (another amount than submitted needs a reason)
  reject ID REASON...               reject; the user sees the reason
  help, quit"""


async def prompt(desk: Desk, *, read: Callable[[str], Awaitable[str]] | None = None, out: TextIO = sys.stdout) -> int:
    """Read commands until `quit` or end of input; ids may be shortened to a unique prefix."""
    read = read or (lambda text: asyncio.to_thread(input, text))
    print(HELP, file=out)
    while True:
        try:
            line = await read("finance> ")
        except EOFError:
            return 0
        try:
            words = shlex.split(line)
        except ValueError as exc:
            print(f"? {exc}", file=out)
            continue
        if not words:
            continue
        command, args = words[0].lower(), words[1:]
        try:
            if command in {"quit", "exit"}:
                return 0
            elif command == "list":
                held = await desk.pending()
                print("\n".join(describe(h) for h in held) or "nothing is waiting", file=out)
            elif command == "approve" and args:
                amount = args[1] if len(args) > 1 else None
                print(await desk.decide(args[0], "approve", amount=amount, reason=" ".join(args[2:])), file=out)
            elif command == "reject" and len(args) > 1:
                print(await desk.decide(args[0], "reject", amount=None, reason=" ".join(args[1:])), file=out)
            else:
                print(HELP, file=out)
        except ValueError as exc:
            print(f"refused: {exc}", file=out)
        except BROKER_ERRORS as exc:
            print(f"not published, try again: {exc!r}", file=out)
