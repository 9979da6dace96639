"""The money after a chaos run: every balance its ledger, everything applied once, what clients were told."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter

from bench.common import ROOT
from chaos.check import DOUBLING, LOSS, Check
from chaos.clients import Customer
from chaos.drain import pending_offline, rows
from chaos.load import Load
from chaos.processes import System


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
    wrong_balance, more, less = _balances_told_otherwise(customers, wallets)
    wrong_orders = sum(_orders_told_otherwise(customer, orders) for customer in customers)
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


def _balances_told_otherwise(customers: list[Customer], wallets: dict[str, int]) -> tuple[int, int, int]:
    """How many balances differ from what their client was told, and by how much in all: more, less."""
    differences = [wallets.get(customer.account_id, 0) - customer.told_balance_minor() for customer in customers]
    wrong = sum(1 for difference in differences if difference)
    return wrong, sum(max(d, 0) for d in differences), sum(max(-d, 0) for d in differences)


def _orders_told_otherwise(customer: Customer, orders: dict[tuple[str, str], str]) -> int:
    """How many of `customer`'s orders have another status (or none) than the client was told."""
    told = {(customer.account_id, order_id): order.status for order_id, order in customer.orders.items()}
    theirs = {key: status for key, status in orders.items() if key[0] == customer.account_id}
    return sum(1 for key in told.keys() | theirs.keys() if told.get(key) != theirs.get(key))
