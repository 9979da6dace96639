"""After the load and the drain: hold the system to what must be true and to what the clients were told.
Each check says what it found; a failed `LOSS` or `DOUBLING` check cost money or documents."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from typing import Any

from bench.common import ROOT
from chaos.drain import pending_offline, queue_depths, rows, unsent_outbox
from chaos.load import Load
from chaos.logs import handler_failures, outside_windows
from chaos.processes import System
from chaos.timeline import Timeline
from tollgate.services import BACKEND_SERVICES, all_queues
from tollgate_shared.bus.dead_letters import list_dead_letters

LOSS, DOUBLING, STUCK, ERRORS = "loss", "doubling", "stuck", "errors"


@dataclass(frozen=True)
class Check:
    label: str  # a word or two for the verdict line
    name: str
    passed: bool
    detail: str
    kind: str  # what a failure means: LOSS, DOUBLING, STUCK or ERRORS


def reconcile(system: System) -> Check:
    """`tollgate billing reconcile` itself, against billing's database directly."""
    env = {**system.env, "TOLLGATE_BILLING_DATABASE_URL": system.infra.database_url("billing")}
    done = subprocess.run(
        [sys.executable, "-m", "tollgate.cli", "billing", "reconcile"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = (done.stdout + done.stderr).strip().splitlines()
    return Check(
        "reconcile",
        "every balance equals its ledger (tollgate billing reconcile)",
        done.returncode == 0,
        "; ".join(lines[-3:]),
        LOSS,
    )


async def money_checks(system: System, load: Load) -> list[Check]:
    billing = system.infra.database_url("billing")
    checks = [await asyncio.to_thread(reconcile, system)]

    repeated = await rows(
        billing,
        "SELECT kind, reference, count(*) AS n FROM ledger_entry GROUP BY account_id, kind, reference "
        "HAVING count(*) > 1",
    )
    checks.append(
        Check(
            "applied once",
            "every payment, approval and order applied once (ledger applied_once)",
            not repeated,
            f"{len(repeated)} applied more than once",
            DOUBLING,
        )
    )

    # Each ledger entry against what it applies, both ways, amounts included.
    unmatched = await rows(
        billing,
        """
        WITH applied AS (
            SELECT 'order' AS kind, account_id, order_id AS reference, -total_minor AS amount
              FROM "order" WHERE status = 'paid'
            UNION ALL
            SELECT 'offline_payment', account_id, id, approved_amount_minor FROM offline_payment
             WHERE status = 'approved'
            UNION ALL
            SELECT 'online_payment', account_id, id, amount_minor FROM payment WHERE status = 'succeeded'
        )
        SELECT coalesce(a.kind, e.kind) AS kind, a.reference IS NULL AS ledger_only, e.id IS NULL AS object_only
          FROM applied a FULL JOIN ledger_entry e
            ON e.account_id = a.account_id AND e.kind = a.kind AND e.reference = a.reference
           AND e.amount_minor = a.amount
         WHERE a.reference IS NULL OR e.id IS NULL
        """,
    )
    ledger_only = Counter(r["kind"] for r in unmatched if r["ledger_only"])
    object_only = Counter(r["kind"] for r in unmatched if r["object_only"])
    checks.append(
        Check(
            "ledger",
            "the ledger holds exactly the paid orders, approvals and succeeded payments",
            not unmatched,
            f"entries without their object: {dict(ledger_only)}; objects without their entry: {dict(object_only)}",
            DOUBLING if ledger_only else LOSS,
        )
    )

    doubled = await rows(
        billing,
        "SELECT account_id, reference, count(*) AS n FROM offline_payment WHERE status = 'approved' "
        "GROUP BY account_id, reference HAVING count(*) > 1",
    )
    checks.append(
        Check(
            "offline reference twice",
            "no offline transfer reference credited twice",
            not doubled,
            f"{len(doubled)} references credited more than once "
            f"({sum(int(r['n']) - 1 for r in doubled)} extra approvals)",
            DOUBLING,
        )
    )

    undecided = await pending_offline(system)
    checks.append(
        Check(
            "undecided top-ups",
            "finance decided every offline top-up",
            undecided == 0,
            f"{undecided} still pending approval",
            LOSS,
        )
    )

    taken = await rows(
        billing,
        "SELECT p.id FROM sandbox_checkout c JOIN payment p ON p.id = c.payment_id "
        "WHERE c.payment_status = 'paid' AND p.status <> 'succeeded'",
    )
    checks.append(
        Check(
            "uncredited payments",
            "every payment the checkout took is credited",
            not taken,
            f"{len(taken)} paid at the checkout but not succeeded",
            LOSS,
        )
    )

    checks.append(await _told(system, load))
    return checks


async def _told(system: System, load: Load) -> Check:
    """Each client's balance and orders as the system has them, against what the client was told."""
    billing = system.infra.database_url("billing")
    customers = [c for c in load.customers if c.account_id]
    wallets = {
        r["account_id"]: int(r["balance_minor"])
        for r in await rows(billing, "SELECT account_id, balance_minor FROM wallet")
    }
    orders = {
        (r["account_id"], r["order_id"]): str(r["status"])
        for r in await rows(billing, 'SELECT account_id, order_id, status FROM "order"')
    }
    wrong_balance, wrong_orders, more, less = 0, 0, 0, 0
    for customer in customers:
        difference = wallets.get(customer.account_id, 0) - customer.told_balance_minor()
        if difference:
            wrong_balance += 1
            more += max(difference, 0)
            less += max(-difference, 0)
        told = {(customer.account_id, order_id): order.status for order_id, order in customer.orders.items()}
        theirs = {key: status for key, status in orders.items() if key[0] == customer.account_id}
        wrong_orders += sum(1 for key in told.keys() | theirs.keys() if told.get(key) != theirs.get(key))
    detail = (
        f"{len(customers)} accounts; {wrong_balance} balances differ (+{more / 100:.2f} more, "
        f"-{less / 100:.2f} less than told); {wrong_orders} orders differ from what their client was told"
    )
    kind = DOUBLING if more else LOSS
    return Check(
        "what clients were told",
        "every balance and order is what its client was told",
        not (wrong_balance or wrong_orders),
        detail,
        kind,
    )


async def document_checks(system: System) -> list[Check]:
    billing, invoicing = system.infra.database_url("billing"), system.infra.database_url("invoicing")
    wanted: Counter[tuple[str, str, str, str]] = Counter()
    for r in await rows(billing, 'SELECT account_id, order_id, status FROM "order"'):
        wanted[(r["account_id"], "invoice", r["order_id"], "paid" if r["status"] == "paid" else "due")] += 1
    for r in await rows(billing, "SELECT account_id, id FROM offline_payment WHERE status = 'approved'"):
        wanted[(r["account_id"], "receipt", r["id"], "paid")] += 1
    for r in await rows(billing, "SELECT account_id, id FROM payment WHERE status = 'succeeded'"):
        wanted[(r["account_id"], "receipt", r["id"], "paid")] += 1
    issued: Counter[tuple[str, str, str, str]] = Counter(
        (r["account_id"], r["kind"], r["source"], r["status"])
        for r in await rows(invoicing, "SELECT account_id, kind, source, status FROM document")
    )
    missing = wanted - issued
    extra = issued - wanted
    by_kind = Counter(key[1] for key in missing)
    checks = [
        Check(
            "documents",
            "every order has exactly one invoice (paid when paid) and every top-up one receipt",
            not missing and not extra,
            f"missing or wrong status: {dict(by_kind) or 0}; extra: {sum(extra.values())}",
            DOUBLING if extra else LOSS,
        ),
    ]
    gaps = []
    series = {
        (r["kind"], r["financial_year"]): int(r["last_number"])
        for r in await rows(invoicing, "SELECT kind, financial_year, last_number FROM document_series")
    }
    numbers: dict[tuple[str, str], list[int]] = {}
    for r in await rows(invoicing, "SELECT kind, financial_year, sequence FROM document ORDER BY sequence"):
        numbers.setdefault((r["kind"], r["financial_year"]), []).append(int(r["sequence"]))
    for key in series.keys() | numbers.keys():
        given = numbers.get(key, [])
        if given != list(range(1, len(given) + 1)) or series.get(key, 0) != len(given):
            gaps.append(f"{key[0]} {key[1]}: {len(given)} documents, last number {series.get(key, 0)}")
    checks.append(
        Check(
            "numbering",
            "invoice and receipt numbers gapless per series",
            not gaps,
            "; ".join(gaps) or f"{sum(len(v) for v in numbers.values())} documents in {len(numbers)} series",
            LOSS,
        )
    )
    return checks


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
            "; ".join(load.surprises[:3]) + (f" (+{len(load.surprises) - 3} more)" if len(load.surprises) > 3 else "")
            if load.surprises
            else "none",
            ERRORS,
        ),
    ]
    return checks


async def run_checks(system: System, load: Load, timeline: Timeline) -> list[Check]:
    checks: list[Any] = []
    checks += await money_checks(system, load)
    checks += await document_checks(system)
    checks += await delivery_checks(system)
    checks.append(handler_check(system, timeline))
    checks.append(processes_check(system))
    checks += client_checks(timeline, load)
    return checks
