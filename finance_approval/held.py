"""Submissions the rules leave for a person, kept in a local SQLite file until someone decides.

Why a file and an ack rather than leaving the message in the queue: an unacked
message holds a prefetch slot for as long as nobody decides (enough of them
stall the consumer), and a requeued one comes straight back (a hot loop that
also spends the queue's delivery limit and ends in the dead-letter queue).
Billing keeps every request `pending_approval` until a decision arrives, so
losing this file loses no money or request: the staff API still lists them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from finance_approval.contract import Submission

SCHEMA = """
CREATE TABLE IF NOT EXISTS held_submission (
    offline_payment_id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    account_id TEXT,
    amount TEXT NOT NULL,          -- a decimal string, never a float
    currency TEXT NOT NULL,
    mode TEXT NOT NULL,
    reference TEXT NOT NULL,
    paid_on TEXT NOT NULL,
    bank TEXT,
    note TEXT,
    submitted_by TEXT NOT NULL,
    held_because TEXT NOT NULL,
    traceparent TEXT,
    held_at TEXT NOT NULL,
    decision TEXT CHECK (decision IN ('approve', 'reject')),
    decided_by TEXT,
    decided_at TEXT
)
"""


@dataclass(frozen=True)
class HeldSubmission:
    submission: Submission
    held_because: str
    traceparent: str | None
    held_at: str


class HeldSubmissions:
    """The finance desk's work list. Each call opens its own connection: callers run it in a thread."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as db, db:
            db.row_factory = sqlite3.Row
            db.execute(SCHEMA)
            yield db

    def hold(self, submission: Submission, *, because: str, traceparent: str | None) -> bool:
        """Keep `submission` for a person; False when it was already here (a redelivery)."""
        s = submission
        with self._db() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO held_submission (offline_payment_id, event_id, account_id, amount, currency,"
                " mode, reference, paid_on, bank, note, submitted_by, held_because, traceparent, held_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    s.offline_payment_id, s.event_id, s.account_id, str(s.amount), s.currency, s.mode,
                    s.reference, s.paid_on.isoformat(), s.bank, s.note, s.submitted_by, because, traceparent,
                    datetime.now(UTC).isoformat(),
                ),
            )  # fmt: skip
            return cursor.rowcount == 1

    def pending(self) -> list[HeldSubmission]:
        """Held submissions nobody has decided here yet, oldest first."""
        with self._db() as db:
            rows = db.execute("SELECT * FROM held_submission WHERE decision IS NULL ORDER BY held_at").fetchall()
        return [_held(row) for row in rows]

    def find(self, offline_payment_id: str) -> HeldSubmission | None:
        """The undecided held submission with this id (a unique prefix of it will do)."""
        if not offline_payment_id:
            return None
        with self._db() as db:
            rows = db.execute(
                "SELECT * FROM held_submission WHERE decision IS NULL AND substr(offline_payment_id, 1, ?) = ?",
                (len(offline_payment_id), offline_payment_id),
            ).fetchall()
        return _held(rows[0]) if len(rows) == 1 else None

    def mark_decided(self, offline_payment_id: str, *, decision: str, decided_by: str) -> None:
        with self._db() as db:
            db.execute(
                "UPDATE held_submission SET decision = ?, decided_by = ?, decided_at = ? WHERE offline_payment_id = ?",
                (decision, decided_by, datetime.now(UTC).isoformat(), offline_payment_id),
            )


def _held(row: sqlite3.Row) -> HeldSubmission:
    submission = Submission(
        event_id=row["event_id"],
        account_id=row["account_id"],
        offline_payment_id=row["offline_payment_id"],
        amount=Decimal(row["amount"]),
        currency=row["currency"],
        mode=row["mode"],
        reference=row["reference"],
        paid_on=date.fromisoformat(row["paid_on"]),
        bank=row["bank"],
        note=row["note"],
        submitted_by=row["submitted_by"],
    )
    return HeldSubmission(
        submission, held_because=row["held_because"], traceparent=row["traceparent"], held_at=row["held_at"]
    )
