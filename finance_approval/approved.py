"""The references this service approved, per account: the same transfer is never approved twice by the rules.

Kept in the held file beside the held submissions (its own table). A
submission is claimed here before its approval is published: the first
submission of a reference takes it, and is approved again if it comes back
(a redelivery, same offline payment id); another submission of a reference
already taken is held for a person, who can see which one was approved first.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from finance_approval.contract import Submission, reference_key

SCHEMA = """
CREATE TABLE IF NOT EXISTS approved_reference (
    account_id TEXT NOT NULL,      -- '' for a submission without one
    reference_key TEXT NOT NULL,   -- upper-case letters and digits, as billing compares them
    offline_payment_id TEXT NOT NULL,
    reference TEXT NOT NULL,       -- as submitted
    approved_at TEXT NOT NULL,
    PRIMARY KEY (account_id, reference_key)
)
"""


class ApprovedReferences:
    """Each call opens its own connection: callers run it in a thread."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as db, db:
            db.execute(SCHEMA)
            yield db

    def claim(self, submission: Submission) -> str | None:
        """Record `submission` as the approval of its reference; the earlier approval's id when another has it."""
        s = submission
        account, key = s.account_id or "", reference_key(s.reference)
        with self._db() as db:
            db.execute(
                "INSERT OR IGNORE INTO approved_reference (account_id, reference_key, offline_payment_id, reference,"
                " approved_at) VALUES (?, ?, ?, ?, ?)",
                (account, key, s.offline_payment_id, s.reference, datetime.now(UTC).isoformat()),
            )
            (approved,) = db.execute(
                "SELECT offline_payment_id FROM approved_reference WHERE account_id = ? AND reference_key = ?",
                (account, key),
            ).fetchone()
        return None if approved == s.offline_payment_id else str(approved)
