"""`make chaos` in small: a billing replica killed and the broker restarted under a mixed client load.

The run starts its own PostgreSQL and RabbitMQ (never the test servers) and
processes, and exits 0 only when nothing was lost, doubled or left stuck and no
client saw an error outside the two faults' windows.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(360)
def test_a_killed_billing_replica_and_a_restarted_broker_lose_and_double_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOLLGATE_", "CHAOS_"))}
    command = [sys.executable, "-m", "chaos", "--seconds", "60", "--faults", "billing-kill,broker-restart"]
    command += ["--seed", "1", "--warm-up", "10", "--sign-up-every", "15", "--results", str(tmp_path)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=330, check=False)
    assert done.returncode == 0, f"{done.stdout[-6000:]}\n{done.stderr[-3000:]}\n(logs of the processes: {tmp_path})"
    assert "chaos: PASS" in done.stdout
