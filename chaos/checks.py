"""After the load and the drain: hold the system to what must be true and to what the clients were told.
Each check says what it found; a failed `LOSS` or `DOUBLING` check cost money or documents. The money
(`money_checks.py`) and the documents (`document_checks.py`) are checked in modules of their own."""

from __future__ import annotations

from collections import Counter

from chaos.check import DOUBLING, ERRORS, LOSS, STUCK, Check
from chaos.document_checks import document_checks
from chaos.drain import queue_depths, unsent_outbox
from chaos.load import Load
from chaos.logs import handler_failures, outside_windows
from chaos.money_checks import money_checks
from chaos.processes import System
from chaos.timeline import Timeline
from tollgate.services import BACKEND_SERVICES, all_queues
from tollgate_shared.bus.dead_letters import list_dead_letters


async def delivery_checks(system: System) -> list[Check]:
    outbox = await unsent_outbox(system)
    checks = [Check("outbox", "no outbox row unsent", not any(outbox.values()), f"unsent: {outbox}", STUCK)]
    letters = await list_dead_letters(system.infra.amqp_url, all_queues())
    parked = Counter(f"{letter.queue}: {letter.event_type}" for letter in letters)
    checks.append(
        Check(
            "dead letters",
            "dead-letter queues empty (tollgate dlq list)",
            not letters,
            f"{len(letters)} parked: {dict(parked)}" if letters else "none parked",
            STUCK,
        )
    )
    depths = {name: n for name, n in (await queue_depths(system.infra.amqp_url, all_queues())).items() if n}
    checks.append(Check("queues", "every work queue drained", not depths, f"waiting: {depths or 0}", STUCK))
    return checks


def handler_check(system: System, timeline: Timeline) -> Check:
    """Consumers fail only during faults: a failure in the calm is a bug (a race), even when a retry hides it."""
    services = [name for name in system.processes if name.split("-")[0] in BACKEND_SERVICES]
    failures = handler_failures(system.log_dir, services, timeline)
    calm = outside_windows(failures, timeline)
    detail = f"{len(failures)} in all; outside faults: {dict(calm.most_common(4)) or 0}"
    return Check(
        "handler failures", "no message handler failed outside a fault window (the logs)", not calm, detail, ERRORS
    )


def processes_check(system: System) -> Check:
    """Nothing died on its own: a process the run did not kill is still running at the end."""
    ended = {
        name: process.process.returncode
        for name, process in system.processes.items()
        if process.process is not None and process.process.poll() is not None
    }
    return Check(
        "processes",
        "every process still running at the end",
        not ended,
        f"ended: {ended}" if ended else f"{len(system.processes)} running",
        ERRORS,
    )


def client_checks(timeline: Timeline, load: Load) -> list[Check]:
    outside = timeline.outside_windows()
    kinds = Counter(f"{a.operation} {a.detail}" for a in outside)
    internal = Counter(f"{a.operation} {a.detail}" for a in timeline.attempts if a.detail == "500")
    repeated: Counter[str] = sum((c.repeated for c in load.customers), Counter())
    anew: Counter[str] = sum((c.repeated_anew for c in load.customers), Counter())
    checks = [
        Check(
            "idempotency",
            "a repeated top-up or payment (same Idempotency-Key and body) gets the first answer again",
            not anew,
            f"{sum(repeated.values())} repeated {dict(repeated)}; answered as a new one: {dict(anew) or 0}",
            DOUBLING,
        ),
        Check(
            "500s",
            "a fault is answered 502, 503 or 504, never 500",
            not internal,
            f"500s: {dict(internal)}" if internal else "no 500",
            ERRORS,
        ),
        Check(
            "errors outside faults",
            "no client-visible error outside a fault window",
            not outside,
            f"{len(outside)} errors: {dict(kinds.most_common(6))}" if outside else "none",
            ERRORS,
        ),
        Check(
            "unanswered",
            "every client request answered in the end",
            not timeline.unanswered,
            f"given up: {dict(timeline.unanswered)}" if timeline.unanswered else "all answered",
            LOSS,
        ),
        Check(
            "unexpected answers",
            "no unexpected answer (a 4xx that is not the right answer)",
            not load.surprises,
            _first_surprises(load.surprises),
            ERRORS,
        ),
    ]
    return checks


def _first_surprises(surprises: list[str]) -> str:
    if not surprises:
        return "none"
    return "; ".join(surprises[:3]) + (f" (+{len(surprises) - 3} more)" if len(surprises) > 3 else "")


async def run_checks(system: System, load: Load, timeline: Timeline) -> list[Check]:
    checks: list[Check] = []
    checks += await money_checks(system, load)
    checks += await document_checks(system)
    checks += await delivery_checks(system)
    checks.append(handler_check(system, timeline))
    checks.append(processes_check(system))
    checks += client_checks(timeline, load)
    return checks
