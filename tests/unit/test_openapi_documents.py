"""Each service's OpenAPI document lists the problem answers its operations can give."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from tests.support.settings import settings_for
from tollgate.services import SERVICES
from tollgate_shared.errors import PROBLEM_CONTENT_TYPE
from tollgate_shared.openapi import CREDENTIALS_OPTIONAL, PUBLIC, describe_problems, problems

EVERY_OPERATION = {"502", "503", "504"}


class Thing(BaseModel):
    name: str


def example_app() -> FastAPI:
    app = FastAPI()
    describe_problems(app)

    @app.get("/things/{thing_id}")
    async def get_thing(thing_id: str) -> Thing:
        return Thing(name=thing_id)

    @app.post("/things", status_code=201, responses=problems(409))
    async def add_thing(thing: Thing) -> Thing:
        return thing

    @app.post("/login", openapi_extra=PUBLIC, responses=problems(401, 429))
    async def login(thing: Thing) -> Thing:
        return thing

    @app.get("/keys", openapi_extra=PUBLIC)
    async def keys() -> dict[str, str]:
        return {}

    @app.post("/enrol", openapi_extra=CREDENTIALS_OPTIONAL, responses=problems(401))
    async def enrol(thing: Thing) -> Thing:
        return thing

    return app


def statuses(document: dict[str, Any], path: str, method: str) -> set[str]:
    return set(document["paths"][path][method]["responses"])


def test_each_operation_documents_the_problems_its_shape_allows() -> None:
    document = example_app().openapi()
    assert statuses(document, "/things/{thing_id}", "get") == {"200", "401", "403", "404", "422"} | EVERY_OPERATION
    assert statuses(document, "/things", "post") == {"201", "400", "401", "403", "409", "413", "422"} | EVERY_OPERATION
    assert statuses(document, "/login", "post") == {"200", "400", "401", "413", "422", "429"} | EVERY_OPERATION
    assert statuses(document, "/keys", "get") == {"200"} | EVERY_OPERATION
    # Optional credentials: no 403 from the gateway, the route names its own 401.
    assert statuses(document, "/enrol", "post") == {"200", "400", "401", "413", "422"} | EVERY_OPERATION


def test_problems_are_problem_json_and_422_names_the_fields() -> None:
    document = example_app().openapi()
    answers = document["paths"]["/things"]["post"]["responses"]
    assert answers["409"]["content"] == {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    validation = answers["422"]["content"][PROBLEM_CONTENT_TYPE]["schema"]
    assert validation == {"$ref": "#/components/schemas/ValidationProblem"}
    assert "Retry-After" in document["paths"]["/login"]["post"]["responses"]["429"]["headers"]
    schemas = document["components"]["schemas"]
    assert {"Problem", "ValidationProblem", "FieldError"} <= set(schemas)
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas


def test_credentials_are_a_bearer_token_or_the_session_cookie_unless_public() -> None:
    document = example_app().openapi()
    assert document["security"] == [{"bearer": []}, {"session": []}]
    assert set(document["components"]["securitySchemes"]) == {"bearer", "session"}
    assert document["paths"]["/keys"]["get"]["security"] == []


def test_the_document_is_completed_once() -> None:
    app = example_app()
    assert app.openapi() is app.openapi()
    assert statuses(app.openapi(), "/keys", "get") == {"200"} | EVERY_OPERATION


@pytest.mark.parametrize("service", ["auth", "billing", "invoicing"])
def test_every_error_a_service_documents_is_a_problem(service: str) -> None:
    app = SERVICES[service].create_app(settings_for(service, database_url="sqlite+aiosqlite:///:memory:"))
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            answers = operation["responses"]
            assert set(answers) >= EVERY_OPERATION, (method, path)
            for status, answer in answers.items():
                if int(status) >= 400:
                    assert list(answer["content"]) == [PROBLEM_CONTENT_TYPE], (method, path, status)
