"""Schemathesis against every service's OpenAPI, through the gateway, as a real administrator.

No input may make a service fail (no 5xx) and every answer must be one the
document promises: its status, its content type, its body's schema (and every
timestamp RFC 3339 with its offset). `make fuzz` runs the same with many more
examples: TOLLGATE_TEST_FUZZ_EXAMPLES cases per operation and generation mode
(default 10), TOLLGATE_TEST_FUZZ_SEED to replay a run.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.fuzz.runner import Credentials, fuzz_document
from tests.fuzz.world import World, build_world, openapi_document
from tests.support.auth_client import AuthClient

pytestmark = [
    pytest.mark.integration,
    # Schemathesis's strategies draw from `random`; Hypothesis warns about it, the runs stay reproducible by seed.
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]

EXAMPLES = int(os.environ.get("TOLLGATE_TEST_FUZZ_EXAMPLES", "10"))
SEED = int(os.environ.get("TOLLGATE_TEST_FUZZ_SEED") or random.getrandbits(32))
# Sign-up and login are fuzzed too: the per-address limit would answer 429 to most of them.
UNLIMITED = {"auth_rate_per_minute": 100_000}


@pytest.fixture(params=["distributed", "embedded"])
async def fuzz_world(
    request: pytest.FixtureRequest, start_system: Any, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[httpx.AsyncClient, Any, World]]:
    """The system distributed (PostgreSQL, RabbitMQ) or embedded (SQLite, in-process bus), its world seeded."""
    system = await start_system(embedded=request.param == "embedded", gateway_settings=UNLIMITED)
    async with httpx.AsyncClient(base_url=system.gateway, timeout=30) as client:
        world = await build_world(AuthClient(client), system, monkeypatch)
        yield client, system, world


def credentials(world: World) -> Credentials:
    """The administrator calls everything but logout (a member's session, so the run keeps its own) and finance."""

    def headers(method: str, path: str) -> dict[str, str]:
        if path == "/api/auth/logout":
            return world.member.auth
        if path.startswith("/api/finance/"):
            return world.staff.auth
        return world.admin.auth

    return headers


async def fuzz(fuzz_world: Any, openapi_path: str) -> None:
    client, system, world = fuzz_world
    document = await openapi_document(client, openapi_path)
    report = await asyncio.to_thread(
        fuzz_document,
        document,
        base_url=system.gateway,
        credentials=credentials(world),
        known=world.known,
        examples=EXAMPLES,
        seed=SEED,
    )
    if report.found:
        pytest.fail(f"seed {SEED}, {EXAMPLES} examples per operation and mode\n{report.text()}", pytrace=False)


async def test_auth_api_answers_as_its_openapi_document_says(fuzz_world: Any) -> None:
    await fuzz(fuzz_world, "/api/auth/openapi.json")


async def test_billing_api_answers_as_its_openapi_document_says(fuzz_world: Any) -> None:
    await fuzz(fuzz_world, "/api/billing/openapi.json")


async def test_invoicing_api_answers_as_its_openapi_document_says(fuzz_world: Any) -> None:
    await fuzz(fuzz_world, "/api/invoices/openapi.json")
