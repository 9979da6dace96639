"""What the services' logs say went wrong: each failed message handler, when, and why in a few words."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from chaos.timeline import Attempt, Timeline

CONSTRAINT = re.compile(r'constraint "([^"]+)"')
EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Timeout|Closed)\w*)\b", re.MULTILINE)


@dataclass(frozen=True)
class HandlerFailure:
    process: str
    at: float  # run seconds
    queue: str
    reason: str  # `unique constraint one_document_per_source`, or the exception's class


def _reason(exception: str) -> str:
    constraint = CONSTRAINT.search(exception)
    if constraint:
        return f"constraint {constraint.group(1)}"
    classes = EXCEPTION.findall(exception)
    return classes[-1].rsplit(".", 1)[-1] if classes else "unknown"


def handler_failures(log_dir: Path, processes: list[str], timeline: Timeline) -> list[HandlerFailure]:
    """Every "handler of QUEUE failed on …" line (JSON logs) of the named processes."""
    failures = []
    for name in processes:
        path = log_dir / f"{name}.log"
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            if '"handler of ' not in line:
                continue
            try:
                entry = json.loads(line)
                when = datetime.fromisoformat(entry["time"]).timestamp()
            except (ValueError, KeyError, TypeError):
                continue
            message = str(entry.get("message", ""))
            if not message.startswith("handler of ") or " failed on " not in message:
                continue
            queue = message.removeprefix("handler of ").split(" failed on ", 1)[0]
            failures.append(HandlerFailure(name, timeline.at(when), queue, _reason(str(entry.get("exception", "")))))
    return failures


def outside_windows(failures: list[HandlerFailure], timeline: Timeline) -> Counter[str]:
    """Failures no fault explains, by process, queue and reason."""
    return Counter(
        f"{f.process} {f.queue}: {f.reason}"
        for f in failures
        if timeline.window_of(Attempt("handler", f.at, f.at, "", "")) is None
    )
