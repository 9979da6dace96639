"""Every error a service answers is an RFC 9457 problem details document."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from asyncpg import exceptions as asyncpg_errors
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

from tests.support.asgi import request
from tests.support.infrastructure import free_port
from tollgate_shared.db import create_engine
from tollgate_shared.errors import (
    PROBLEM_CONTENT_TYPE,
    Conflict,
    DomainError,
    NotFound,
    install_problem_handlers,
    problem_type,
)
from tollgate_shared.money import PositiveMoney


class InsufficientCredits(DomainError):
    status, code, title = 402, "insufficient_credits", "Insufficient credits"


class TooManyAttempts(DomainError):
    status, code, title = 429, "too_many_attempts", "Too many attempts"


class PaymentIn(BaseModel):
    amount: PositiveMoney
    reference: str


SERVER_ERRORS: dict[str, Exception] = {
    "starting-up": asyncpg_errors.CannotConnectNowError("the database system is starting up"),
    "shutting-down": asyncpg_errors.CannotConnectNowError("the database system is shutting down"),
    "admin-shutdown": asyncpg_errors.AdminShutdownError("terminating connection due to administrator command"),
    "crash-shutdown": asyncpg_errors.CrashShutdownError("terminating connection because of crash of another process"),
    "too-many-connections": asyncpg_errors.TooManyConnectionsError("sorry, too many clients already"),
    "connection-lost": asyncpg_errors.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
}
"""asyncpg's errors of a database that is not there for now (SQLSTATE 57P03, 57P01, 57P02, 53300, 08003)."""


def build_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/orders/pay")
    async def pay() -> None:
        raise InsufficientCredits("The balance is 5.00.", balance="5.00")

    @app.post("/logins")
    async def log_in() -> None:
        raise TooManyAttempts("Try again in 30 seconds.", headers={"Retry-After": "30"})

    @app.get("/orders/{order_id}")
    async def order(order_id: str) -> None:
        raise NotFound(f"No order {order_id}.")

    @app.post("/decisions")
    async def decide() -> None:
        raise Conflict()

    @app.get("/me")
    async def me() -> None:
        raise HTTPException(401, detail="Not authenticated", headers={"WWW-Authenticate": "Bearer"})

    @app.get("/forbidden")
    async def forbidden() -> None:
        raise HTTPException(403)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("password=hunter2 at postgresql://db.internal:5432")

    @app.get("/database/lost")
    async def database_lost() -> None:
        raise DBAPIError("SELECT 1", {}, ConnectionResetError("gone"), connection_invalidated=True)

    @app.get("/database/pool-timeout")
    async def pool_timeout() -> None:
        raise SQLAlchemyTimeoutError("QueuePool limit of size 10 overflow 10 reached")

    @app.get("/database/down")
    async def database_down() -> None:
        # PostgreSQL stopped: asyncpg's connect raises the socket's ConnectionRefusedError, unwrapped.
        engine = create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/postgres")
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        finally:
            await engine.dispose()

    @app.get("/database/raises/{name}")
    async def database_raises(name: str) -> None:
        # What asyncpg raises, unwrapped, when a connection cannot be made or is ended by the server.
        raise SERVER_ERRORS[name]

    @app.get("/database/wrapped/{name}")
    async def database_wrapped(name: str) -> None:
        # The same error from a statement, wrapped by SQLAlchemy (no invalidation flag set).
        raise DBAPIError("SELECT 1", {}, SERVER_ERRORS[name])

    @app.get("/elsewhere/refused")
    async def elsewhere_refused() -> None:
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 6379)")  # not the database

    @app.get("/database/bug")
    async def database_bug() -> None:
        raise DBAPIError("SELECT nonsense", {}, Exception('column "nonsense" does not exist'))

    @app.post("/payments")
    async def create_payment(payment: PaymentIn) -> dict[str, str]:
        return payment.model_dump()

    return app


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return build_app()


def assert_problem(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status
    assert answer.headers["content-type"] == PROBLEM_CONTENT_TYPE
    problem: dict[str, Any] = answer.json()
    assert problem["status"] == status
    assert problem["code"] == code
    assert problem["type"] == problem_type(code) == f"/problems/{code}"
    assert isinstance(problem["title"], str) and problem["title"]
    return problem


async def test_domain_error_becomes_a_problem_with_its_code_and_extensions(app: FastAPI) -> None:
    answer = await request(app, "POST", "/orders/pay")

    problem = assert_problem(answer, 402, "insufficient_credits")
    assert problem["title"] == "Insufficient credits"
    assert problem["detail"] == "The balance is 5.00."
    assert problem["balance"] == "5.00"


async def test_domain_error_sends_its_headers_and_keeps_them_out_of_the_document(app: FastAPI) -> None:
    answer = await request(app, "POST", "/logins")

    problem = assert_problem(answer, 429, "too_many_attempts")
    assert answer.headers["retry-after"] == "30"
    assert "headers" not in problem and "Retry-After" not in problem


async def test_not_found_is_a_404_problem(app: FastAPI) -> None:
    problem = assert_problem(await request(app, "GET", "/orders/abc"), 404, "not_found")

    assert problem["title"] == "Not found"
    assert problem["detail"] == "No order abc."


async def test_domain_error_without_detail_omits_it(app: FastAPI) -> None:
    problem = assert_problem(await request(app, "POST", "/decisions"), 409, "conflict")

    assert problem["title"] == "Conflict"
    assert "detail" not in problem


async def test_http_exception_keeps_its_detail_and_headers(app: FastAPI) -> None:
    answer = await request(app, "GET", "/me")

    problem = assert_problem(answer, 401, "unauthorized")
    assert problem["detail"] == "Not authenticated"
    assert answer.headers["www-authenticate"] == "Bearer"


async def test_http_exception_with_the_default_phrase_has_no_detail(app: FastAPI) -> None:
    problem = assert_problem(await request(app, "GET", "/forbidden"), 403, "forbidden")

    assert problem["title"] == "Forbidden"
    assert "detail" not in problem


async def test_unknown_path_is_a_404_problem(app: FastAPI) -> None:
    assert_problem(await request(app, "GET", "/no/such/thing"), 404, "not_found")


async def test_wrong_method_is_a_405_problem(app: FastAPI) -> None:
    answer = await request(app, "GET", "/payments")

    assert_problem(answer, 405, "method_not_allowed")
    assert "POST" in answer.headers["allow"]


async def test_unexpected_error_is_a_500_problem_that_leaks_nothing(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="tollgate_shared.errors"):
        answer = await request(app, "GET", "/boom")

    problem = assert_problem(answer, 500, "internal_error")
    assert b"hunter2" not in answer.content
    assert b"postgresql" not in answer.content
    assert b"RuntimeError" not in answer.content
    # The cause goes to the logs instead.
    assert any(record.exc_info and "hunter2" in str(record.exc_info[1]) for record in caplog.records)
    assert set(problem) == {"type", "title", "status", "code"}


UNAVAILABLE_PATHS = [
    "/database/lost",
    "/database/pool-timeout",
    "/database/down",
    *(f"/database/raises/{name}" for name in SERVER_ERRORS),
    *(f"/database/wrapped/{name}" for name in SERVER_ERRORS),
]


@pytest.mark.parametrize("path", UNAVAILABLE_PATHS)
async def test_an_unreachable_database_is_a_503_to_retry(app: FastAPI, path: str) -> None:
    answer = await request(app, "GET", path)
    problem = assert_problem(answer, 503, "database_unavailable")
    assert answer.headers["retry-after"] == "1"
    assert "SELECT" not in json.dumps(problem)


async def test_any_other_database_error_is_a_500_that_leaks_nothing(app: FastAPI) -> None:
    answer = await request(app, "GET", "/database/bug")
    assert_problem(answer, 500, "internal_error")
    assert b"nonsense" not in answer.content


async def test_a_refused_connection_to_something_else_is_not_the_database(app: FastAPI) -> None:
    assert_problem(await request(app, "GET", "/elsewhere/refused"), 500, "internal_error")


async def test_valid_body_with_money_passes(app: FastAPI) -> None:
    body = json.dumps({"amount": "12.5", "reference": "UTR123"}).encode()

    answer = await request(app, "POST", "/payments", body=body, headers={"content-type": "application/json"})

    assert answer.status_code == 200
    assert answer.json() == {"amount": "12.50", "reference": "UTR123"}


async def test_invalid_fields_are_a_422_listing_them(app: FastAPI) -> None:
    body = json.dumps({"amount": "1.234"}).encode()

    answer = await request(app, "POST", "/payments", body=body, headers={"content-type": "application/json"})

    problem = assert_problem(answer, 422, "validation_error")
    fields = {error["field"]: error["message"] for error in problem["errors"]}
    assert set(fields) == {"amount", "reference"}
    assert "two decimal places" in fields["amount"]
    assert not fields["amount"].startswith("Value error")


async def test_json_float_amount_is_a_422(app: FastAPI) -> None:
    body = b'{"amount": 1180.0, "reference": "UTR123"}'

    answer = await request(app, "POST", "/payments", body=body, headers={"content-type": "application/json"})

    problem = assert_problem(answer, 422, "validation_error")
    assert [error["field"] for error in problem["errors"]] == ["amount"]
    assert "decimal string" in problem["errors"][0]["message"]


async def test_zero_positive_money_is_a_422(app: FastAPI) -> None:
    body = b'{"amount": "0.00", "reference": "UTR123"}'

    answer = await request(app, "POST", "/payments", body=body, headers={"content-type": "application/json"})

    problem = assert_problem(answer, 422, "validation_error")
    assert [error["field"] for error in problem["errors"]] == ["amount"]


async def test_malformed_json_is_a_400(app: FastAPI) -> None:
    answer = await request(
        app, "POST", "/payments", body=b'{"amount": "1.00",', headers={"content-type": "application/json"}
    )

    problem = assert_problem(answer, 400, "malformed_json")
    assert problem["title"] == "Malformed JSON"
