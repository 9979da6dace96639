"""Several pods starting at once each run `tollgate migrate SERVICE` (their init container,
deploy/kubernetes/base): the migrations are applied once and every run succeeds."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import asyncpg
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData

from tests.support.harness import DatabaseFactory
from tollgate.services import BACKEND_SERVICES, SERVICES
from tollgate_shared.migrations import alembic_config

pytestmark = pytest.mark.integration

PODS_STARTING_AT_ONCE = 3


def head_revision(service: str, url: str) -> str:
    migrations = SERVICES[service].migrations
    assert migrations is not None
    head = ScriptDirectory.from_config(alembic_config(migrations, url)).get_current_head()
    assert head is not None
    return head


@pytest.mark.parametrize("service", BACKEND_SERVICES)
async def test_init_containers_starting_at_once_migrate_an_empty_database_once(
    service: str, databases: DatabaseFactory
) -> None:
    url = await databases.with_tables(MetaData())  # an empty database, as CloudNativePG's Database creates it
    env = {**os.environ, "TOLLGATE_ENV": "development", f"TOLLGATE_{service.upper()}_DATABASE_URL": url}
    # The init container's command line (deploy/kubernetes/base/<service>.yaml): `tollgate migrate SERVICE`.
    runs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tollgate.cli",
            "migrate",
            service,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(PODS_STARTING_AT_ONCE)
    ]
    outputs = await asyncio.gather(*(run.communicate() for run in runs))
    for run, (output, _) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output.decode()
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        versions = await connection.fetch("SELECT version_num FROM alembic_version")
    finally:
        await connection.close()
    assert [row["version_num"] for row in versions] == [head_revision(service, url)]
