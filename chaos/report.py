"""The run's table (requests and errors per window, recovery per fault), the checks, and a one-line verdict."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from chaos.check import Check
from chaos.timeline import ERROR, REFUSED, Attempt, Timeline, Window


def _seconds(value: float) -> float | None:
    """Rounded to a tenth; None (printed "-", JSON null) for what never happened."""
    return None if math.isnan(value) else round(value, 1)


def window_rows(timeline: Timeline) -> list[dict[str, Any]]:
    """One row per fault, and one for the calm (everything outside the fault windows)."""
    by_window: dict[str, list[Attempt]] = {w.name: [] for w in timeline.windows}
    calm: list[Attempt] = []
    for attempt in timeline.attempts:
        window = timeline.window_of(attempt)
        (by_window[window.name] if window else calm).append(attempt)
    table = []
    for window in timeline.windows:
        table.append(_row(window.name, by_window[window.name], window))
    table.append(_row("outside faults", calm, None))
    return table


def _row(name: str, attempts: list[Attempt], window: Window | None) -> dict[str, Any]:
    errors = [a for a in attempts if a.outcome == ERROR]
    row: dict[str, Any] = {
        "window": name,
        "requests": len(attempts),
        "errors": len(errors),
        "refused": sum(1 for a in attempts if a.outcome == REFUSED),
        "error kinds": dict(Counter(a.detail for a in errors).most_common(4)),
    }
    if window is not None:
        last_error = max((a.ended for a in errors), default=math.nan)
        row.update(
            {
                "at": _seconds(window.injected),
                "held": _seconds(window.lifted - window.injected),
                "ready after lift": _seconds(window.ready - window.lifted),
                # How long clients kept seeing errors once the fault was lifted (0 when they stopped before).
                "errors until": _seconds(max(last_error - window.lifted, 0.0)) if errors else None,
            }
        )
    return row


COLUMNS = (  # heading, width, key
    ("window", 16, "window"),
    ("at s", 7, "at"),
    ("held s", 7, "held"),
    ("ready s", 8, "ready after lift"),
    ("errors until s", 15, "errors until"),
    ("requests", 9, "requests"),
    ("errors", 7, "errors"),
    ("4xx ok", 7, "refused"),
)


def render(rows: list[dict[str, Any]], checks: list[Check], verdict: str, notes: list[str]) -> str:
    """The table (times in seconds: injected at, held before the harness lifted it, until every process was
    ready again after the lift, until the last error a client saw after the lift), the checks, the verdict."""

    def cell(value: Any) -> str:
        return "-" if value is None else str(value)

    lines = [
        "".join(f"{title:<{width}}" if i == 0 else f"{title:>{width}}" for i, (title, width, _) in enumerate(COLUMNS))
        + "  error kinds"
    ]
    for row in rows:
        cells = [
            f"{cell(row.get(key)):<{width}}" if i == 0 else f"{cell(row.get(key)):>{width}}"
            for i, (_, width, key) in enumerate(COLUMNS)
        ]
        kinds = ", ".join(f"{kind} x{n}" for kind, n in row["error kinds"].items())
        lines.append("".join(cells) + "  " + kinds)
    lines.append("")
    for check in checks:
        lines.append(f"{'PASS' if check.passed else 'FAIL'}  {check.name}: {check.detail}")
    lines += ["", *notes, verdict]
    return "\n".join(lines)


def verdict(checks: list[Check], timeline: Timeline) -> str:
    failed = [c for c in checks if not c.passed]
    faults = ", ".join(w.name for w in timeline.windows)
    if not failed:
        return f"chaos: PASS — {len(timeline.attempts)} requests through {faults}: nothing lost, doubled or stuck"
    by_kind: dict[str, list[str]] = {}
    for check in failed:
        by_kind.setdefault(check.kind, []).append(check.label)
    what = "; ".join(f"{kind}: {', '.join(labels)}" for kind, labels in by_kind.items())
    return f"chaos: FAIL — {len(failed)} of {len(checks)} checks failed ({what})"


def save(path: Path, rows: list[dict[str, Any]], checks: list[Check], verdict_line: str, meta: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {**meta, "windows": rows, "checks": [asdict(c) for c in checks], "verdict": verdict_line}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
