"""The idempotency store: a request retried with its key answers the first answer again and moves nothing twice.

The answer is written in the transaction of the request's effect, so both
commit or neither does: `claim` at the transaction's start inserts the key
(`INSERT … ON CONFLICT DO NOTHING`), `keep` at its end stores the answer. A
concurrent request with the same key waits at its own insert until the first
commits, then finds that answer (or, if the first rolled back, goes on as the
first). A key already answered raises `AnsweredBefore`, which the API sends
again as it was; the same key for another request is `IdempotencyKeyReused`.
Only successful answers are kept: an error changed nothing, so the same
request may be retried with the same key and is then applied afresh.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic, Protocol, TypeVar

from pydantic import BaseModel
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from billing.adapters.tables import idempotency_key
from tollgate_shared import direct_sql
from tollgate_shared.db import insert_unless_exists
from tollgate_shared.errors import Conflict

T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)
U = TypeVar("U")


class IdempotencyKeyReused(Conflict):
    code, title = "idempotency_key_reused", "This Idempotency-Key was used for another request"


class AnsweredBefore(Exception):
    """The key's request was answered before: send this answer again, as it was."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


class KeepsAnswer(Protocol[T_contra]):
    """What a use case does with the answer of a request that carries a key (see `Answer`)."""

    async def replay(self, db: AsyncSession) -> None: ...
    async def claim(self, db: AsyncSession) -> None: ...
    async def keep(self, db: AsyncSession, result: T_contra) -> None: ...


_FIND = select(idempotency_key).where(
    idempotency_key.c.account_id == bindparam("p_account"), idempotency_key.c.key == bindparam("p_key")
)
_KEEP = (
    update(idempotency_key)
    .where(idempotency_key.c.account_id == bindparam("p_account"), idempotency_key.c.key == bindparam("p_key"))
    .values(status_code=bindparam("p_status"), response_body=bindparam("p_body"))
)


@dataclass
class Answer(Generic[T]):
    """The answer to one request made with an idempotency key: `status` and `render(result)` as JSON."""

    account_id: str
    key: str
    request_hash: str  # of the method, path and body
    status: int
    render: Callable[[T], BaseModel]
    body: bytes | None = field(default=None, init=False)  # once kept

    async def replay(self, db: AsyncSession) -> None:
        """Raise the answer kept for the key, if there is one; locks nothing (a shortcut before slow work)."""
        found = await direct_sql.first(db, _FIND, {"p_account": self.account_id, "p_key": self.key})
        if found is not None:
            self._answered(found.request_hash, found.status_code, found.response_body)

    async def claim(self, db: AsyncSession) -> None:
        """Take the key for `db`'s transaction, waiting for a concurrent request that holds it; raise its answer."""
        values = {
            "account_id": self.account_id,
            "key": self.key,
            "request_hash": self.request_hash,
            "created_at": datetime.now(UTC),
        }
        while await insert_unless_exists(db, idempotency_key, values) is None:
            found = await direct_sql.first(db, _FIND, {"p_account": self.account_id, "p_key": self.key})
            if found is not None:  # (else it was purged meanwhile: take it)
                self._answered(found.request_hash, found.status_code, found.response_body)

    async def keep(self, db: AsyncSession, result: T) -> None:
        """Store the answer in `db`'s transaction, which `claim`ed the key."""
        self.body = self.render(result).model_dump_json().encode()
        params = {"p_account": self.account_id, "p_key": self.key, "p_status": self.status}
        await direct_sql.execute_many(db, _KEEP, [{**params, "p_body": self.body.decode()}])

    def _answered(self, request_hash: str, status_code: int | None, response_body: str | None) -> None:
        if request_hash != self.request_hash:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used for another request (another body or endpoint); "
                "use a new key for a new request."
            )
        if status_code is None:  # never committed so (claim and keep share a transaction): defensive
            raise Conflict("The first request with this Idempotency-Key has not finished; try again.")
        raise AnsweredBefore(int(status_code), str(response_body).encode())


def given(answer: KeepsAnswer[T], before: Callable[[U], T]) -> KeepsAnswer[U]:
    """`answer` for a step that has only part of the result: `before` makes the whole from that part."""
    return _Given(answer, before)


@dataclass(frozen=True)
class _Given(Generic[U, T]):
    answer: KeepsAnswer[T]
    before: Callable[[U], T]

    async def replay(self, db: AsyncSession) -> None:
        await self.answer.replay(db)

    async def claim(self, db: AsyncSession) -> None:
        await self.answer.claim(db)

    async def keep(self, db: AsyncSession, result: U) -> None:
        await self.answer.keep(db, self.before(result))


async def delete_keys_made_before(db: AsyncSession, moment: datetime) -> int:
    """Delete the keys made before `moment`; how many went."""
    deleted = await db.execute(delete(idempotency_key).where(idempotency_key.c.created_at < moment))
    return int(deleted.rowcount or 0)  # type: ignore[attr-defined]
