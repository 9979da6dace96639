"""Fixtures several integration modules share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.auth_client import AuthClient


@pytest.fixture
async def office(start_system: Any) -> AsyncIterator[tuple[AuthClient, Any]]:
    """auth and billing through the gateway, as a client of it; the finance service's
    broker login is the test broker's only user, guest, so tests can publish its decisions."""
    system = await start_system(services=("auth", "billing"), billing_settings={"finance_broker_user": "guest"})
    async with httpx.AsyncClient(base_url=system.gateway, timeout=60) as client:
        yield AuthClient(client), system


@pytest.fixture
async def auth(start_system: Any) -> AsyncIterator[tuple[AuthClient, Any]]:
    """auth alone behind the gateway, as a client of it."""
    system = await start_system(services=("auth",))
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        yield AuthClient(client), system
