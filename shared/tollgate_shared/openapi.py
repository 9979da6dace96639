"""Every service's OpenAPI document tells the whole truth about its answers.

FastAPI documents an operation's success and its 422 as `application/json`
with its own validation schema; the services answer every error as an RFC
9457 problem (`errors.py`), and the gateway in front of them answers some
more. `describe_problems(app)` completes the document once, for every
operation, from what the operation has:

- any operation, through the gateway: 502, 503 and 504 (a service down,
  unready or slow; 503 is also a service whose database is unreachable);
- a request body: 400 (not JSON) and 413 (over the gateway's limit);
- credentials (the document's default `security`): 401 and 403 (the
  gateway's IP rules, a role, a CSRF token);
- a path parameter: 404 (nothing of that id in the caller's account);
- a 422: the validation problem, `errors` naming each invalid field.

An operation anyone may call says so with `openapi_extra=PUBLIC`; answers
only some operations give (402, 409, 429, a public login's 401) are listed
where they are decided, with `responses=problems(409, ...)`.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI

from tollgate_shared.errors import PROBLEM_CONTENT_TYPE

PROBLEM_REF = "#/components/schemas/Problem"
VALIDATION_PROBLEM_REF = "#/components/schemas/ValidationProblem"

DESCRIPTIONS: dict[int, str] = {
    400: "The request is malformed: its body is not JSON (`malformed_json`) or is refused as sent.",
    401: "No valid credentials: missing, invalid or expired token, ended session (`unauthenticated`, ...).",
    402: "The balance does not cover it (`insufficient_credits`).",
    403: "Not allowed: the client address (`ip_not_allowed`), the caller's role, or a missing CSRF token.",
    404: "Nothing with this id in the caller's account (`not_found`).",
    409: "Conflicts with what exists (`conflict` and more specific codes).",
    413: "The body exceeds the gateway's limit (`body_too_large`).",
    422: "Invalid fields (`validation_error`); `errors` names each.",
    429: "Too many attempts; `Retry-After` says how many seconds to wait.",
    502: "The service answered the gateway badly (`bad_gateway`).",
    503: "The service, its database or the gateway is not available yet; retry later.",
    504: "The service did not answer the gateway in time (`upstream_timeout`).",
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}}

# Anyone may call it: no credentials (`openapi_extra=PUBLIC`).
PUBLIC: dict[str, Any] = {"security": []}
# Credentials are optional: without them the body must say who (`openapi_extra=CREDENTIALS_OPTIONAL`).
CREDENTIALS_OPTIONAL: dict[str, Any] = {"security": [{}, {"bearer": []}, {"session": []}]}

SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "An access token."},
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "tg_access",
        "description": "The browser's session; unsafe requests also echo the `tg_csrf` cookie in `X-CSRF-Token`.",
    },
}

SCHEMAS = {
    "Problem": {
        "title": "Problem",
        "description": "RFC 9457 problem details; `code` is stable, and some problems carry more members.",
        "type": "object",
        "required": ["type", "title", "status", "code"],
        "properties": {
            "type": {"type": "string", "description": "`/problems/<code>`"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "code": {"type": "string"},
            "detail": {"type": "string"},
            "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}},
        },
        "additionalProperties": True,
    },
    "ValidationProblem": {
        "title": "ValidationProblem",
        "allOf": [{"$ref": PROBLEM_REF}, {"type": "object", "required": ["errors"]}],
    },
    "FieldError": {
        "title": "FieldError",
        "type": "object",
        "required": ["field", "message"],
        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
    },
}
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def problem_answer(status: int) -> dict[str, Any]:
    """The OpenAPI response object of a problem answered with `status`."""
    schema = VALIDATION_PROBLEM_REF if status == 422 else PROBLEM_REF
    answer: dict[str, Any] = {
        "description": DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
        "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": schema}}},
    }
    if status in (429, 503):
        answer["headers"] = RETRY_AFTER
    return answer


def optional_header(name: str, description: str) -> dict[str, Any]:
    """An optional request header, for `openapi_extra` of a route that reads it itself."""
    return {"name": name, "in": "header", "required": False, "schema": {"type": "string"}, "description": description}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route that answers these problems besides what every operation can."""
    return {status: problem_answer(status) for status in statuses}


def describe_problems(app: FastAPI) -> None:
    """Make `app`'s OpenAPI document list every problem each operation can answer."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            complete(generate())  # FastAPI keeps the document it generated; complete it once, in place
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def complete(document: dict[str, Any]) -> None:
    components = document.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    schemas = components.setdefault("schemas", {})
    for name in FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)  # the services never answer FastAPI's validation shape
    schemas.update(SCHEMAS)
    document.setdefault("security", [{"bearer": []}, {"session": []}])
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            security = operation.get("security", document["security"])
            # `{}` among the requirements: credentials are optional, the service decides alone.
            _complete_operation(operation, secured=bool(security) and {} not in security)


def _complete_operation(operation: dict[str, Any], *, secured: bool) -> None:
    responses = operation.setdefault("responses", {})
    for status in _answerable_problems(operation, secured=secured):
        responses.setdefault(str(status), {})
    for status, answer in responses.items():
        if status.isdigit() and int(status) >= 400:
            responses[status] = _problem_described(int(status), answer)
    operation["responses"] = dict(sorted(responses.items()))


def _answerable_problems(operation: dict[str, Any], *, secured: bool) -> set[int]:
    """The problems `operation` can answer whatever its route says: what its body, credentials and path allow."""
    statuses = {502, 503, 504}
    if "requestBody" in operation:
        statuses |= {400, 413}
    if secured:
        statuses |= {401, 403}
    if any(parameter.get("in") == "path" for parameter in operation.get("parameters", [])):
        statuses.add(404)
    return statuses


def _problem_described(status: int, answer: dict[str, Any]) -> dict[str, Any]:
    documented = problem_answer(status)
    # A route's own description of one of its problems wins over the general one.
    documented["description"] = answer.get("description") or documented["description"]
    if status == 422:
        documented["description"] = DESCRIPTIONS[422]  # not FastAPI's "Validation Error"
    return documented
