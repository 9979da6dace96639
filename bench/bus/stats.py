"""Turning commit times into figures, and figures into a table."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from bench.bus.producer import Commits


def percentiles_ms(latencies: Sequence[float]) -> dict[str, float | None]:
    """p50, p95, p99 and max of `latencies` (seconds), in milliseconds."""
    if len(latencies) < 2:
        value = round(latencies[0] * 1000, 2) if latencies else None
        return {"p50_ms": value, "p95_ms": value, "p99_ms": value, "max_ms": value}
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "p50_ms": round(cuts[49] * 1000, 2),
        "p95_ms": round(cuts[94] * 1000, 2),
        "p99_ms": round(cuts[98] * 1000, 2),
        "max_ms": round(max(latencies) * 1000, 2),
    }


def phase_figures(
    commits: Commits, received: Sequence[tuple[str, float]], started: float, *, latency: bool = True
) -> dict[str, Any]:
    """Throughput and latency of one phase from producer and consumer commit times.

    Events per second count from the first producer commit, or from `started`
    when latency is off (the events were written before the phase began).
    """
    consumed: dict[str, float] = {}
    for event_id, at in received:
        consumed.setdefault(event_id, at)  # a redelivery that found its inbox row is not a second commit
    matched = [consumed[e] - at for e, at in commits.items() if e in consumed]
    figures: dict[str, Any] = {
        "events": len(commits),
        "delivered": len(matched),
        "missing": len(commits) - len(matched),
        "unexpected": len(set(consumed) - set(commits)),
    }
    if commits and consumed:
        first_commit = min(commits.values())
        last_produced = max(commits.values())
        last_consumed = max(consumed[e] for e in commits if e in consumed)
        first = first_commit if latency else started
        figures["seconds"] = round(last_consumed - first, 3)
        figures["events_per_s"] = round(len(matched) / (last_consumed - first), 1)
        if latency:
            figures["produced_per_s"] = round(len(commits) / max(last_produced - started, 1e-9), 1)
    if latency:
        figures.update(percentiles_ms(matched))
    return figures


def median_of(runs: Sequence[Mapping[str, Any]], key: str) -> float | None:
    values = [run[key] for run in runs if isinstance(run.get(key), int | float)]
    return round(statistics.median(values), 2) if values else None


def table(rows: Sequence[tuple[str, Mapping[str, Any]]], columns: Mapping[str, str]) -> str:
    """A plain-text table: one row per (label, figures); `columns` maps keys to headers."""
    header = ["", *columns.values()]
    lines = [[label, *(_cell(figures.get(c)) for c in columns)] for label, figures in rows]
    widths = [max(len(str(row[i])) for row in [header, *lines]) for i in range(len(header))]
    out = [
        "  ".join(
            str(cell).rjust(w) if i else str(cell).ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in [header, *lines]
    ]
    return "\n".join(out)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)
