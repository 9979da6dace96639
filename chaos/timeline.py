"""What happened when: every request attempt a client made, and every fault window."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

OK, REFUSED, ERROR = "ok", "refused", "error"  # refused: a 4xx that is the right answer (402, a retry's 409)


@dataclass(frozen=True)
class Attempt:
    operation: str  # "order", "pay", "offline", "online", "checkout", "sign-up", ...
    started: float
    ended: float
    outcome: str  # OK, REFUSED or ERROR
    detail: str  # the status ("201", "502") or the exception's name ("ClientConnectorError")


@dataclass
class Window:
    """A fault from its injection to `settle` seconds after it was lifted (and the system was ready again)."""

    name: str
    description: str
    injected: float
    lifted: float = 0.0  # when the harness undid the fault (restarted, reconnected, restored)
    ready: float = 0.0  # when what was restarted answered ready again
    ends: float = 0.0  # lifted + settle: errors up to here are the fault's

    def covers(self, attempt: Attempt) -> bool:
        """An attempt in flight at any moment of the window (begun before it, answered in it, or both)."""
        return attempt.started <= self.ends and attempt.ended >= self.injected


@dataclass
class Timeline:
    origin: float = field(default_factory=time.monotonic)
    wall_origin: float = field(default_factory=time.time)  # the same moment by the clock the logs use
    attempts: list[Attempt] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    unanswered: Counter[str] = field(default_factory=Counter)  # operations given up on at the deadline

    def now(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self.origin

    def record(self, operation: str, started: float, outcome: str, detail: str) -> None:
        self.attempts.append(Attempt(operation, started, self.now(), outcome, detail))

    def at(self, wall_clock: float) -> float:
        """A wall-clock time (a log line's) in run seconds."""
        return wall_clock - self.wall_origin

    def window_of(self, attempt: Attempt) -> Window | None:
        return next((window for window in self.windows if window.covers(attempt)), None)

    def outside_windows(self) -> list[Attempt]:
        """Errors no fault explains."""
        return [a for a in self.attempts if a.outcome == ERROR and self.window_of(a) is None]
