"""The phases' table: medians of the rounds, the goal check, and the table as Markdown."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

GOAL_ORDERS_PER_SECOND = 300.0
# Issue 19: CPU per order in every phase, billing's processes and its database's backends.
BILLING_CPU_MS_PER_ORDER = 1.5
POSTGRES_CPU_MS_PER_ORDER = 0.6
MEDIAN_FIELDS = (
    "orders_per_second",
    "sustained_orders_per_second",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "errors",
    "outbox_unsent_at_end",
    "drain_seconds",
    "billing_cores",
    "gateway_cores",
    "postgres_cores",
    "client_cores",
    "rabbitmq_cores",
    "other_cores",
    "billing_cpu_ms_per_order",
    "gateway_cpu_ms_per_order",
    "postgres_cpu_ms_per_order",
    "client_cpu_ms_per_order",
    "rabbitmq_cpu_ms_per_order",
    "system_cpu_ms_per_order",
)
# With invoicing running (end to end), also these.
INVOICING_MEDIAN_FIELDS = (
    "invoiced_orders_per_second",
    "invoiced_by_window_end_share",
    "invoice_drain_seconds",
    "invoice_lag_p50_ms",
    "invoice_lag_p95_ms",
    "invoice_lag_max_ms",
    "invoicing_cpu_ms_per_invoice",
    "invoicing_postgres_cpu_ms_per_invoice",
    "end_to_end_cpu_ms_per_order",
    "invoicing_cores",
    "invoicing_postgres_cores",
    "invoicing_events_per_transaction",
    "invoicing_rollbacks",
)
# Issue 19's end-to-end goals, with two billing processes: orders/s on N (100) accounts and on one.
E2E_ORDERS_PER_SECOND_SPREAD = 500.0
E2E_ORDERS_PER_SECOND_ONE_ACCOUNT = 400.0
INVOICING_CPU_MS_PER_INVOICE = 1.0
# "Every order's invoice issued before the phase ends": the orders answered in the window's last
# instants cannot have theirs yet, so the check is that invoicing keeps pace, i.e. the last invoice
# follows the window's end by no more than this (what is still in flight, not a backlog that grew
# with the phase's length); the share issued by the window's end is reported beside it.
INVOICE_DRAIN_SECONDS = 1.0


def medians(phases: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    table = []
    for name in dict.fromkeys(p["phase"] for p in phases):
        runs = [p for p in phases if p["phase"] == name]
        row: dict[str, Any] = {"phase": name, "processes": runs[0]["processes"], "accounts": runs[0]["accounts"]}
        invoicing = "invoicing_cpu_ms_per_invoice" in runs[0]
        for key in MEDIAN_FIELDS + (INVOICING_MEDIAN_FIELDS if invoicing else ()):
            row[key] = statistics.median(float(p[key]) for p in runs)
        row["errors_in_all_rounds"] = sum(int(p["errors"]) for p in runs)
        if invoicing:
            listed = [p["invoices_listed_through_gateway"] for p in runs]
            row["invoices_listed_through_gateway"] = [
                sum(x["listed"] for x in listed),
                sum(x["checked"] for x in listed),
            ]
        row["orders_per_second_range"] = [
            min(p["orders_per_second"] for p in runs),
            max(p["orders_per_second"] for p in runs),
        ]
        row["rounds"] = len(runs)
        row["load_average_before"] = [p["load_average_before"][0] for p in runs]
        table.append(row)
    return sorted(table, key=lambda r: (r["accounts"], r["processes"]))


def goal(table: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """>= 300 orders/s in some configuration, two processes faster than one for each account count
    (judged on answered orders; the same comparison with events published is reported beside it), and
    issue 19's CPU per order in every phase; with invoicing, the end-to-end goals as well."""
    rate = {(r["processes"], r["accounts"]): r["orders_per_second"] for r in table}
    sustained = {(r["processes"], r["accounts"]): r["sustained_orders_per_second"] for r in table}
    best = max(rate.values())

    def two_faster(rates: dict[tuple[int, int], float]) -> dict[str, bool]:
        return {f"{accounts} account(s)": rates[(2, accounts)] > rates[(1, accounts)] for _, accounts in rates}

    cpu = {
        f"billing <= {BILLING_CPU_MS_PER_ORDER} ms of CPU per order": all(
            r["billing_cpu_ms_per_order"] <= BILLING_CPU_MS_PER_ORDER for r in table
        ),
        f"its database <= {POSTGRES_CPU_MS_PER_ORDER} ms of CPU per order": all(
            r["postgres_cpu_ms_per_order"] <= POSTGRES_CPU_MS_PER_ORDER for r in table
        ),
    }
    checked = {
        "best_orders_per_second": best,
        "at_least_300_orders_per_second": best >= GOAL_ORDERS_PER_SECOND,
        "two_processes_faster_than_one": two_faster(rate),
        "two_processes_faster_than_one_with_events_published": two_faster(sustained),
        "cpu_per_order": cpu,
        "met": best >= GOAL_ORDERS_PER_SECOND and all(two_faster(rate).values()) and all(cpu.values()),
    }
    if "invoicing_cpu_ms_per_invoice" in table[0]:  # invoicing ran: the end-to-end goals too
        checked["end_to_end"] = end_to_end_goal(table)
        checked["met"] = checked["met"] and checked["end_to_end"]["met"]
    return checked


def end_to_end_goal(table: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Issue 19's end-to-end goals, with invoicing running: >= 500 orders/s on N accounts and >= 400 on
    one with two billing processes; in every phase no error, invoicing <= 1 ms of CPU per invoice and
    every invoice issued within `INVOICE_DRAIN_SECONDS` of the window's end (the lag's p95 reported)."""
    row = {(r["processes"], r["accounts"]): r for r in table}
    spread = max(accounts for _, accounts in row)
    phases = {r["phase"]: r for r in table}
    checks = {
        f"2 processes, {spread} accounts: >= 500 orders/s": row[(2, spread)]["orders_per_second"]
        >= E2E_ORDERS_PER_SECOND_SPREAD,
        "2 processes, 1 account: >= 400 orders/s": row[(2, 1)]["orders_per_second"]
        >= E2E_ORDERS_PER_SECOND_ONE_ACCOUNT,
        "no error in any phase": all(r["errors_in_all_rounds"] == 0 for r in table),
        "invoicing <= 1 ms of CPU per invoice": all(
            r["invoicing_cpu_ms_per_invoice"] <= INVOICING_CPU_MS_PER_INVOICE for r in table
        ),
        f"every invoice within {INVOICE_DRAIN_SECONDS:.0f} s of the window's end": all(
            r["invoice_drain_seconds"] <= INVOICE_DRAIN_SECONDS for r in table
        ),
        "invoices listed through the gateway": all(
            r["invoices_listed_through_gateway"][0] == r["invoices_listed_through_gateway"][1] for r in table
        ),
    }
    return {
        **checks,
        "invoice_lag_p95_ms": {name: round(r["invoice_lag_p95_ms"]) for name, r in phases.items()},
        "met": all(checks.values()),
    }


def markdown(result: dict[str, Any]) -> str:
    text = _orders_table(result["medians"])
    if result["medians"] and "invoicing_cpu_ms_per_invoice" in result["medians"][0]:
        text += "\n\n" + _invoices_table(result["medians"])
    if result.get("profile"):
        text += "\n\n" + _profile_summary("billing-1", result["profile"])
        if "invoicing" in result["profile"]:
            text += "\n\n" + _profile_summary("invoicing", result["profile"]["invoicing"])
    return text + "\n"


def _cell(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def _orders_table(medians: Sequence[dict[str, Any]]) -> str:
    lines = [
        "| billing processes | accounts | orders/s (range) | with events published | p50 ms | p95 ms | p99 ms "
        "| errors | CPU ms/order billing / gateway / postgres / client "
        "| cores billing / gateway / postgres / client / other |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in medians:
        low, high = r["orders_per_second_range"]
        lines.append(
            f"| {r['processes']} | {r['accounts']} "
            f"| **{_cell(r['orders_per_second'])}** ({_cell(low)} to {_cell(high)}) "
            f"| {_cell(r['sustained_orders_per_second'])} | {_cell(r['p50_ms'])} | {_cell(r['p95_ms'])} "
            f"| {_cell(r['p99_ms'])} | {r['errors']:.0f} "
            f"| {_cell(r['billing_cpu_ms_per_order'])} / {_cell(r['gateway_cpu_ms_per_order'])} / "
            f"{_cell(r['postgres_cpu_ms_per_order'])} / {_cell(r['client_cpu_ms_per_order'])} "
            f"| {r['billing_cores']:.2f} / {r['gateway_cores']:.2f} / {r['postgres_cores']:.2f} / "
            f"{r['client_cores']:.2f} / {r['other_cores']:.2f} |"
        )
    return "\n".join(lines)


def _invoices_table(medians: Sequence[dict[str, Any]]) -> str:
    lines = [
        "| billing processes | accounts | orders/s | with the invoice issued | invoiced by the window's end | drain s "
        "| lag order answered → invoice p50 / p95 / max ms | invoicing CPU ms/invoice process / its postgres "
        "| end-to-end CPU ms/order | cores invoicing / its postgres | events per transaction | rollbacks "
        "| listed through the gateway |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in medians:
        listed, checked = r["invoices_listed_through_gateway"]
        lines.append(
            f"| {r['processes']} | {r['accounts']} | {_cell(r['orders_per_second'])} "
            f"| {_cell(r['invoiced_orders_per_second'])} | {r['invoiced_by_window_end_share'] * 100:.1f} % "
            f"| {r['invoice_drain_seconds']:.2f} "
            f"| {_cell(r['invoice_lag_p50_ms'])} / {_cell(r['invoice_lag_p95_ms'])} / {_cell(r['invoice_lag_max_ms'])} "
            f"| {_cell(r['invoicing_cpu_ms_per_invoice'])} / {_cell(r['invoicing_postgres_cpu_ms_per_invoice'])} "
            f"| {_cell(r['end_to_end_cpu_ms_per_order'])} "
            f"| {r['invoicing_cores']:.2f} / {r['invoicing_postgres_cores']:.2f} "
            f"| {r['invoicing_events_per_transaction']:.1f} | {r['invoicing_rollbacks']:.0f} | {listed}/{checked} |"
        )
    return "\n".join(lines)


def _profile_summary(process: str, prof: dict[str, Any]) -> str:
    text = (
        f"{process} under cProfile ({prof['orders']} orders, "
        f"{prof['profiled_ms_per_order']} ms profiled per order):\n\n| layer | share of own time |\n|---|---|\n"
    )
    text += "\n".join(
        f"| {name} | {entry['share'] * 100:.1f} % |" for name, entry in list(prof["by_layer"].items())[:14]
    )
    return text + "\n\n" + ", ".join(f"{name.replace('_', ' ')}: {value}" for name, value in prof["counts"].items())
