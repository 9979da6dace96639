"""The phases' table: medians of the rounds, the goal check, and the table as Markdown."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

GOAL_ORDERS_PER_SECOND = 300.0
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


def medians(phases: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    table = []
    for name in dict.fromkeys(p["phase"] for p in phases):
        runs = [p for p in phases if p["phase"] == name]
        row: dict[str, Any] = {"phase": name, "processes": runs[0]["processes"], "accounts": runs[0]["accounts"]}
        for key in MEDIAN_FIELDS:
            row[key] = statistics.median(float(p[key]) for p in runs)
        row["orders_per_second_range"] = [
            min(p["orders_per_second"] for p in runs),
            max(p["orders_per_second"] for p in runs),
        ]
        row["rounds"] = len(runs)
        row["load_average_before"] = [p["load_average_before"][0] for p in runs]
        table.append(row)
    return sorted(table, key=lambda r: (r["accounts"], r["processes"]))


def goal(table: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """>= 300 orders/s in some configuration, and two processes faster than one for each account count
    (judged on answered orders; the same comparison with events published is reported beside it)."""
    rate = {(r["processes"], r["accounts"]): r["orders_per_second"] for r in table}
    sustained = {(r["processes"], r["accounts"]): r["sustained_orders_per_second"] for r in table}
    best = max(rate.values())

    def two_faster(rates: dict[tuple[int, int], float]) -> dict[str, bool]:
        return {f"{accounts} account(s)": rates[(2, accounts)] > rates[(1, accounts)] for _, accounts in rates}

    return {
        "best_orders_per_second": best,
        "at_least_300_orders_per_second": best >= GOAL_ORDERS_PER_SECOND,
        "two_processes_faster_than_one": two_faster(rate),
        "two_processes_faster_than_one_with_events_published": two_faster(sustained),
        "met": best >= GOAL_ORDERS_PER_SECOND and all(two_faster(rate).values()),
    }


def markdown(result: dict[str, Any]) -> str:
    def cell(value: float) -> str:
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"

    lines = [
        "| billing processes | accounts | orders/s (range) | with events published | p50 ms | p95 ms | p99 ms "
        "| errors | CPU ms/order billing / gateway / postgres / client "
        "| cores billing / gateway / postgres / client / other |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["medians"]:
        low, high = r["orders_per_second_range"]
        lines.append(
            f"| {r['processes']} | {r['accounts']} | **{cell(r['orders_per_second'])}** ({cell(low)} to {cell(high)}) "
            f"| {cell(r['sustained_orders_per_second'])} | {cell(r['p50_ms'])} | {cell(r['p95_ms'])} "
            f"| {cell(r['p99_ms'])} | {r['errors']:.0f} "
            f"| {cell(r['billing_cpu_ms_per_order'])} / {cell(r['gateway_cpu_ms_per_order'])} / "
            f"{cell(r['postgres_cpu_ms_per_order'])} / {cell(r['client_cpu_ms_per_order'])} "
            f"| {r['billing_cores']:.2f} / {r['gateway_cores']:.2f} / {r['postgres_cores']:.2f} / "
            f"{r['client_cores']:.2f} / {r['other_cores']:.2f} |"
        )
    text = "\n".join(lines)
    if result.get("profile"):
        prof = result["profile"]
        text += (
            f"\n\nbilling-1 under cProfile ({prof['phase']['orders']} orders, "
            f"{prof['profiled_ms_per_order']} ms profiled per order):\n\n| layer | share of own time |\n|---|---|\n"
        )
        text += "\n".join(
            f"| {name} | {entry['share'] * 100:.1f} % |" for name, entry in list(prof["by_layer"].items())[:14]
        )
        text += "\n\n" + ", ".join(f"{name.replace('_', ' ')}: {value}" for name, value in prof["counts"].items())
    return text + "\n"
