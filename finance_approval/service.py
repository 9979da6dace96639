"""`tollgate-finance run`: consume the submissions queue until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket

import aio_pika

from finance_approval.approved import ApprovedReferences
from finance_approval.broker import BROKER_ERRORS, DecisionPublisher, SubmissionConsumer
from finance_approval.contract import SUBMISSIONS_QUEUE
from finance_approval.held import HeldSubmissions
from finance_approval.rules import Rules
from finance_approval.settings import FinanceSettings

log = logging.getLogger("finance_approval")
DRAIN_SECONDS = 10.0


async def run(settings: FinanceSettings, rules: Rules) -> int:
    """Decide submissions by `rules` until asked to stop; the exit status."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    try:
        connection = await aio_pika.connect_robust(
            settings.broker_url(), client_properties={"connection_name": f"finance-approval@{socket.gethostname()}"}
        )
    except BROKER_ERRORS as exc:
        log.error("cannot connect to the broker at %s as %s: %r", settings.broker_address, settings.broker_user, exc)
        return 2
    async with connection:
        try:
            publisher = await DecisionPublisher.open(connection, settings.broker_user)
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=settings.prefetch)
            # Passive: billing declares and owns the queue (quorum, delivery limit, dead-lettering).
            queue = await channel.declare_queue(SUBMISSIONS_QUEUE, passive=True)
        except aio_pika.exceptions.ChannelNotFoundEntity as exc:
            log.error("%s: billing declares the exchange and %s when it first starts", exc, SUBMISSIONS_QUEUE)
            return 3
        consumer = SubmissionConsumer(
            rules=rules,
            held=HeldSubmissions(settings.held_file),
            approved=ApprovedReferences(settings.held_file),
            publisher=publisher,
            stopping=stopping,
        )
        tag = await queue.consume(consumer.handle)
        log.info(
            "deciding %s on %s as %s (prefetch %d); held submissions go to %s",
            SUBMISSIONS_QUEUE,
            settings.broker_address,
            settings.broker_user,
            settings.prefetch,
            settings.held_file,
        )
        await stopping.wait()
        log.info("stopping: no new submissions; finishing the ones in hand")
        with contextlib.suppress(*BROKER_ERRORS):
            await queue.cancel(tag)
        await consumer.drain(DRAIN_SECONDS)
    return 0
