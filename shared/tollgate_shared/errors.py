"""RFC 9457 problem details for every error a service answers.

Domain code raises `DomainError` subclasses with stable codes; the handlers
installed by `install_problem_handlers` turn them, validation errors and any
unexpected exception into `application/problem+json`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any, ClassVar, TypeVar

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as database_errors
from starlette.exceptions import HTTPException as StarletteHTTPException

from tollgate_shared.db_availability import is_database_unavailable
from tollgate_shared.field_wording import field_message

PROBLEM_CONTENT_TYPE = "application/problem+json"
log = logging.getLogger(__name__)
_T = TypeVar("_T")


class DomainError(Exception):
    """A rule of the domain said no; `code` is stable and becomes the problem type."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"
    # True for a refusal whose record must stand (a counted failure, an audit entry, a revoked session): the
    # request's transaction commits what it wrote before the refusal instead of rolling it back.
    keeps_changes: ClassVar[bool] = False

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None, **extensions: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.headers = headers or {}  # sent with the answer (`Retry-After`)
        self.extensions = extensions


class NotFound(DomainError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(DomainError):
    status, code, title = 409, "conflict", "Conflict"


def field_error(field: str, message: str, error_type: str = "invalid") -> dict[str, str]:
    """One entry of a 422's `errors`: the field, a fragment a person reads after its name, a stable type."""
    return {"field": field, "message": message, "type": error_type}


class InvalidFields(DomainError):
    """Rules about fields that the request's schema cannot express (422, like schema errors), all at once."""

    status, code, title = 422, "validation_error", "Invalid request"

    def __init__(self, errors: Sequence[dict[str, str]]) -> None:
        super().__init__("One or more fields are invalid.", errors=list(errors))
        self.errors: list[dict[str, str]] = list(errors)


class InvalidField(InvalidFields):
    """A rule about one field (`message` reads after its name: "must not be in the future")."""

    def __init__(self, field: str, message: str, error_type: str = "invalid") -> None:
        super().__init__([field_error(field, message, error_type)])


class FieldChecks:
    """The wrong fields of one request, gathered so that one 422 names them all, not the first one found.

    checks = FieldChecks()
    checks.add("paid_on", "must not be in the future")   # a rule found wrong
    start = checks.run(parse_start, text)                # a check raising InvalidFields: None when wrong
    checks.raise_if_any()
    """

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def add(self, field: str, message: str, error_type: str = "invalid") -> None:
        self.errors.append(field_error(field, message, error_type))

    def run(self, check: Callable[..., _T], *args: Any, **kwargs: Any) -> _T | None:
        """`check(...)`'s answer; None, with its fields noted, when it raises InvalidFields."""
        try:
            return check(*args, **kwargs)
        except InvalidFields as refused:
            self.errors.extend(refused.errors)
            return None

    def wrong(self, field: str) -> bool:
        return any(error["field"] == field for error in self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise InvalidFields(self.errors)


def problem_type(code: str) -> str:
    """The stable `type` URI of a problem code (relative to the API's base)."""
    return f"/problems/{code}"


def problem_response(
    status: int,
    code: str,
    title: str | None = None,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """A problem details answer; every error of every service goes through here."""
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_CONTENT_TYPE, headers=headers)


def invalid_fields_response(fields: Sequence[dict[str, str]]) -> JSONResponse:
    """The 422 of a request with invalid fields: `errors` lists each `{field, message}`."""
    return problem_response(
        422, "validation_error", "Invalid request", "One or more fields are invalid.", errors=list(fields)
    )


def _field_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    fields = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ()) if part not in ("body",)]
        error_type = str(error.get("type", "invalid"))
        message = field_message(error_type, str(error.get("msg", "")), error.get("ctx"), error.get("input"))
        fields.append(field_error(".".join(location) or "body", message, error_type))
    return fields


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        return problem_response(400, "malformed_json", "Malformed JSON", "The body is not JSON.")
    return invalid_fields_response(_field_errors(errors))


async def _on_domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return problem_response(exc.status, exc.code, exc.title, exc.detail, headers=exc.headers or None, **exc.extensions)


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_"))
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != HTTPStatus(exc.status_code).phrase else None
    return problem_response(exc.status_code, code, detail=detail, headers=dict(exc.headers or {}))


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Never leak internals: the trace id in the logs ties this answer to the cause.
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(500, "internal_error", "Internal error")


async def _on_database_error(request: Request, exc: Exception) -> JSONResponse:
    # A database that is down, restarting or out of connections is passing trouble,
    # not a bug: 503 with a hint to retry (a dead pooled connection fails one
    # request, then the pool replaces it). Any other database error is unexpected.
    if not is_database_unavailable(exc):
        return await _on_unexpected(request, exc)
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return problem_response(
        503, "database_unavailable", "The database is not reachable; try again", headers={"Retry-After": "1"}
    )


# What the database layer raises: SQLAlchemy's errors, and asyncpg's and the
# socket's, which a failed connect raises unwrapped (CannotConnectNowError while
# PostgreSQL starts or stops, ConnectionRefusedError while it is down).
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    database_errors.DBAPIError,
    database_errors.TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    OSError,
)


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error of `app` a problem details answer."""
    for error in DATABASE_ERRORS:
        app.add_exception_handler(error, _on_database_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(DomainError, _on_domain_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(Exception, _on_unexpected)
