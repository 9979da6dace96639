"""The broker side: take submissions from billing's queue, publish decisions, ack after the confirm.

At least once, end to end: a submission is acked only after its decision is
confirmed by the broker (or after it is safely held for a person). A crash in
between means the submission comes back and is decided again, as a new event;
billing applies the first decision and ignores the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime

import aio_pika
from aio_pika.abc import AbstractConnection, AbstractExchange, AbstractIncomingMessage

from finance_approval.approved import ApprovedReferences
from finance_approval.contract import (
    DECIDED,
    EXCHANGE,
    Decision,
    NotTheContract,
    Submission,
    decision_envelope,
    format_money,
    parse_submission,
)
from finance_approval.held import HeldSubmissions
from finance_approval.rules import Rules, evaluate, held_as_duplicate

log = logging.getLogger("finance_approval")

PUBLISH_TIMEOUT_SECONDS = 10.0
MAX_RETRY_DELAY_SECONDS = 30.0
BROKER_ERRORS = (aio_pika.exceptions.AMQPError, ConnectionError, TimeoutError, RuntimeError)


class DecisionPublisher:
    """Publishes `finance.offline_payment.decided` with confirms, as the broker login `user_id`."""

    def __init__(self, exchange: AbstractExchange, user_id: str) -> None:
        self.exchange = exchange
        self.user_id = user_id

    @classmethod
    async def open(cls, connection: AbstractConnection, user_id: str) -> DecisionPublisher:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        # Passive: the platform owns the exchange (and its alternate exchange); we only use it.
        return cls(await channel.get_exchange(EXCHANGE, ensure=True), user_id)

    def message(self, decision: Decision, *, account_id: str | None, traceparent: str | None) -> aio_pika.Message:
        envelope = decision_envelope(decision, account_id=account_id)
        return aio_pika.Message(
            json.dumps(envelope).encode(),
            message_id=envelope["id"],
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            # RabbitMQ refuses a user_id that is not the connection's login: billing trusts it for that.
            user_id=self.user_id,
            type=DECIDED,
            app_id="finance-approval",
            timestamp=datetime.now(UTC),
            # The decision continues the submission's trace.
            headers={"traceparent": traceparent} if traceparent else {},
        )

    async def publish(self, message: aio_pika.Message) -> None:
        """Return once the broker confirmed `message`; raise otherwise."""
        await self.exchange.publish(message, routing_key=DECIDED, mandatory=True, timeout=PUBLISH_TIMEOUT_SECONDS)


def traceparent_of(message: AbstractIncomingMessage) -> str | None:
    value = (message.headers or {}).get("traceparent")
    return value.decode() if isinstance(value, bytes) else value if isinstance(value, str) else None


def is_still_ours(message: AbstractIncomingMessage) -> bool:
    """False once the channel it came on closed: the broker will deliver it again."""
    try:
        return not message.channel.is_closed
    except aio_pika.exceptions.ChannelInvalidStateError:
        return False


class SubmissionConsumer:
    """Decides each submission by the rules: approve or reject (published), or hold for a person.

    A reference approved before (for another submission of the account) is held, never approved again.
    """

    def __init__(
        self,
        *,
        rules: Rules,
        held: HeldSubmissions,
        approved: ApprovedReferences,
        publisher: DecisionPublisher,
        stopping: asyncio.Event,
    ) -> None:
        self.rules = rules
        self.held = held
        self.approved = approved
        self.publisher = publisher
        self.stopping = stopping
        self.in_flight: set[asyncio.Task[object]] = set()
        self.claiming = asyncio.Lock()

    async def handle(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.in_flight.add(task)
        try:
            await self._handle(message)
        except Exception:
            log.exception("submission %s failed; it goes back to the queue", message.message_id)
            await self._backoff(5.0)
            await self._settle(message.nack(requeue=True), message)
        finally:
            if task is not None:
                self.in_flight.discard(task)

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        try:
            submission = parse_submission(message.body)
        except NotTheContract as exc:
            # No retry can fix it: the queue's dead-letter queue keeps it for an operator.
            log.error("message %s is not a submission (%s): dead-lettered", message.message_id, exc)
            await self._settle(message.reject(requeue=False), message)
            return
        verdict = evaluate(self.rules, submission, today=datetime.now(UTC).date())
        if verdict.outcome == "approve":
            # Taken before publishing, so two submissions of one transfer in hand at once cannot both pass; and
            # in delivery order (nothing awaits before the lock, which is FIFO), so the first submitted one wins.
            async with self.claiming:
                earlier = await asyncio.to_thread(self.approved.claim, submission)
            if earlier is not None:
                verdict = held_as_duplicate(submission, earlier)
        if verdict.outcome == "hold":
            await self._hold(submission, because=verdict.reason, traceparent=traceparent_of(message))
        else:
            decision = Decision(
                submission.offline_payment_id,
                verdict.outcome,
                decided_by=self.rules.decided_by,
                reason=verdict.reason if verdict.outcome == "reject" else None,
            )
            outgoing = self.publisher.message(
                decision, account_id=submission.account_id, traceparent=traceparent_of(message)
            )
            if not await self._publish_until_confirmed(outgoing, message):
                return
            log.info(
                "offline payment %s (%s %s) %s by the rules: %s; event %s",
                submission.offline_payment_id,
                submission.mode,
                format_money(submission.amount),
                {"approve": "approved", "reject": "rejected"}[verdict.outcome],
                verdict.reason,
                outgoing.message_id,
            )
        await self._settle(message.ack(), message)

    async def _hold(self, submission: Submission, *, because: str, traceparent: str | None) -> None:
        new = await asyncio.to_thread(self.held.hold, submission, because=because, traceparent=traceparent)
        log.info(
            "offline payment %s (%s %s) held for a person: %s%s",
            submission.offline_payment_id,
            submission.mode,
            format_money(submission.amount),
            because,
            "" if new else " (already held)",
        )

    async def _publish_until_confirmed(self, outgoing: aio_pika.Message, delivery: AbstractIncomingMessage) -> bool:
        # The same message (same event id) each time: if an unconfirmed one did
        # arrive, billing's inbox takes the copy for what it is.
        delay = 1.0
        while not self.stopping.is_set():
            try:
                await self.publisher.publish(outgoing)
                return True
            except BROKER_ERRORS as exc:
                log.warning("decision %s not confirmed (%r); trying again in %.0f s", outgoing.message_id, exc, delay)
            if not is_still_ours(delivery):
                return False
            await self._backoff(delay)
            delay = min(delay * 2, MAX_RETRY_DELAY_SECONDS)
        return False

    async def _backoff(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)

    @staticmethod
    async def _settle(settlement: Awaitable[None], message: AbstractIncomingMessage) -> None:
        try:
            await settlement
        except BROKER_ERRORS as exc:
            log.warning("could not settle %s (%r): the broker delivers it again", message.message_id, exc)

    async def drain(self, seconds: float) -> None:
        """Let the submissions being decided finish (their acks need the connection still open)."""
        if self.in_flight:
            await asyncio.wait(set(self.in_flight), timeout=seconds)
