"""Schemathesis over one OpenAPI document, through the gateway, collecting every distinct failure.

Each operation gets `examples` positive and `examples` negative cases from
schemathesis's Hypothesis strategies; for path parameters that name seeded
resources, half of the cases use a real id. Each answer goes through
schemathesis's checks (server errors, documented status codes, content types
and response schemas, with formats: a `date-time` must be RFC 3339 with its
offset). A failure is recorded, not raised, so one run lists them all.

It runs in a worker thread (blocking `requests`, as schemathesis sends them)
while the test's event loop keeps serving the system.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import requests
import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.errors import FailureGroup

CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance")
CONFIG = {
    "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
    # The caller's real credentials go with every case; generated ones (a random `Authorization`,
    # a `tg_access` cookie) would make most requests carry two credentials.
    "generation": {"with-security-parameters": False},
}
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


@dataclass(frozen=True)
class Found:
    """One distinct failure: which operation, which check, what the service answered."""

    operation: str
    check: str
    status: int | None
    message: str
    curl: str


@dataclass
class Report:
    found: dict[tuple[str, str, int | None], Found] = field(default_factory=dict)
    counts: dict[tuple[str, str, int | None], int] = field(default_factory=dict)
    requests: int = 0

    def add(self, found: Found) -> None:
        key = (found.operation, found.check, found.status)
        self.found.setdefault(key, found)
        self.counts[key] = self.counts.get(key, 0) + 1

    def text(self) -> str:
        lines = [f"{len(self.found)} distinct failures in {self.requests} requests:"]
        for key, found in self.found.items():
            lines += [
                f"- {found.operation}: {found.check} (answer {found.status}, {self.counts[key]}x)",
                *(f"    {line}" for line in found.message.strip().splitlines()[:8]),
                f"    {found.curl}",
            ]
        return "\n".join(lines)


Credentials = Callable[[str, str], dict[str, str]]
"""(method, path template) -> the headers that authenticate the caller of that operation."""


def fuzz_document(
    document: dict[str, Any],
    *,
    base_url: str,
    credentials: Credentials,
    known: Mapping[tuple[str, str], Sequence[str]],
    examples: int,
    seed: int,
) -> Report:
    schema = schemathesis.openapi.from_dict(document, config=schemathesis.Config.from_dict(CONFIG))
    report = Report()
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            headers = credentials(operation.method.upper(), operation.path)
            for mode in MODES:
                strategy = cases(operation, mode, known)
                _run(strategy, send=_sender(session, base_url, headers, report), examples=examples, seed=seed)
    return report


def cases(operation: Any, mode: GenerationMode, known: Mapping[tuple[str, str], Sequence[str]]) -> Any:
    """Generated cases, and as many again whose path parameters name seeded resources."""
    generated = operation.as_strategy(generation_mode=mode)
    real = {name: ids for (path, name), ids in known.items() if path == operation.path}
    if not real:
        return generated
    names = sorted(real)
    with_ids = st.tuples(*(st.sampled_from(real[name]) for name in names)).flatmap(
        lambda values: operation.as_strategy(
            generation_mode=mode, path_parameters=dict(zip(names, values, strict=True))
        )
    )
    return st.one_of(generated, with_ids)


def _sender(session: requests.Session, base_url: str, headers: dict[str, str], report: Report) -> Callable[[Any], None]:
    def send(case: Any) -> None:
        report.requests += 1
        curl = case.as_curl_command(headers, base_url=base_url)  # the credentials are filtered out
        try:
            response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
        except requests.RequestException as exc:
            report.add(Found(case.operation.label, "no answer", None, repr(exc), curl))
            return
        try:
            case.validate_response(response, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                report.add(Found(case.operation.label, failure.title, response.status_code, failure.message, curl))

    return send


def _run(strategy: Any, *, send: Callable[[Any], None], examples: int, seed: int) -> None:
    @hypothesis.seed(seed)
    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        # Failures are recorded, not raised: nothing to shrink or explain.
        phases=(hypothesis.Phase.explicit, hypothesis.Phase.generate),
        suppress_health_check=list(hypothesis.HealthCheck),
        verbosity=hypothesis.Verbosity.quiet,
    )
    @hypothesis.given(strategy)
    def run(case: Any) -> None:
        send(case)

    # Unsatisfiable: no case of this mode exists (nothing in the operation can be invalid).
    with contextlib.suppress(hypothesis.errors.Unsatisfiable):
        run()
