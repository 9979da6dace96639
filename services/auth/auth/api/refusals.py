"""How a refusal is answered: the shared problem details, plus its headers (`Retry-After`)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from auth.domain.errors import Refusal
from tollgate_shared.errors import problem_response


async def answer_refusal(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Refusal)
    return problem_response(exc.status, exc.code, exc.title, exc.detail, headers=exc.headers or None, **exc.extensions)
