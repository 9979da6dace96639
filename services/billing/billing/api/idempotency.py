"""`Idempotency-Key` on the POSTs that move money: read the header, send kept answers again.

A route takes `IdempotencyKeyDep` (None when the header is absent: no cost),
makes the request's `Answer` with `answer_for`, hands it to the use case (which
claims the key and keeps the answer in the transaction of its effect) and
returns `sent(answer)` when it was kept. A key answered before raises
`AnsweredBefore` out of the use case (its transaction rolled back); the handler
installed by `install_replay` sends that answer again, status and body as they
were, with `Idempotent-Replayed: true`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import Response
from pydantic import BaseModel

from billing.adapters.idempotency_store import Answer, AnsweredBefore
from tollgate_shared.auth_upstream import AccountUserDep
from tollgate_shared.openapi import problem_answer

T = TypeVar("T")
JSON = "application/json"
REPLAYED = "Idempotent-Replayed"

KEY_DESCRIPTION = (
    "1 to 255 printable ASCII characters chosen by the client, one per operation it means to perform once "
    "(a UUID will do) and sent again on each retry of it: the same key with the same body answers the first "
    "answer again (status and body, with `Idempotent-Replayed: true`) and changes nothing; with another body "
    "or on another operation it is a 409 `idempotency_key_reused`. Keys belong to the account and are kept "
    "24 hours. Only successful answers are kept: after an error the same request may be sent again with the "
    "same key."
)
IDEMPOTENCY_KEY_REUSED = "the `Idempotency-Key` was used for another request (`idempotency_key_reused`)"


@dataclass(frozen=True)
class IdempotencyKey:
    """A request's `Idempotency-Key`, with what identifies the request it was sent with."""

    account_id: str
    value: str
    method: str
    path: str

    def answer(self, body: BaseModel, *, status: int, render: Callable[[T], BaseModel]) -> Answer[T]:
        # The validated body, not its bytes: the same request sent with its members in
        # another order, or "5000" for "5000.00", is the same request.
        request = f"{self.method} {self.path}\n{body.model_dump_json()}"
        fingerprint = hashlib.sha256(request.encode()).hexdigest()
        return Answer(self.account_id, self.value, fingerprint, status, render)


async def idempotency_key(
    request: Request,
    caller: AccountUserDep,
    # A string, not `str | None`, for the document (a header is never null); a default is
    # not validated, so "" stands for no header, while a header sent empty is a 422.
    key: Annotated[
        str,
        Header(alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[ -~]+$", description=KEY_DESCRIPTION),
    ] = "",
) -> IdempotencyKey | None:
    if not key:
        return None
    return IdempotencyKey(caller.account_id, key, request.method, request.url.path)


IdempotencyKeyDep = Annotated[IdempotencyKey | None, Depends(idempotency_key)]


def answer_for(
    key: IdempotencyKey | None, body: BaseModel, *, status: int, render: Callable[[T], BaseModel]
) -> Answer[T] | None:
    """The answer to keep for this request, or None when it came without a key."""
    return key.answer(body, status=status, render=render) if key is not None else None


def conflicts(description: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route's 409, saying which conflicts it answers."""
    return {409: {**problem_answer(409), "description": description}}


def sent(answer: Answer[Any] | None) -> Response | None:
    """The kept answer, exactly as stored, or None when nothing was kept (no key)."""
    if answer is None or answer.body is None:
        return None
    return Response(answer.body, status_code=answer.status, media_type=JSON)


async def _send_again(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AnsweredBefore)
    return Response(exc.body, status_code=exc.status, media_type=JSON, headers={REPLAYED: "true"})


def install_replay(app: FastAPI) -> None:
    app.add_exception_handler(AnsweredBefore, _send_again)
