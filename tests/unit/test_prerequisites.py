"""`make test` on a machine that lacks a tool it cannot install stops at once, saying what to install."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_missing_chromium_that_cannot_be_installed_is_one_line_before_any_test(tmp_path: Path) -> None:
    # A PATH with the shell's tools but neither chromium nor apt-get: nothing can be installed.
    for tool in ("bash", "id", "ls", "sort", "tail", "seq"):
        found = shutil.which(tool)
        assert found is not None, tool
        (tmp_path / tool).symlink_to(found)
    env = {k: v for k, v in os.environ.items() if k != "TOLLGATE_TEST_CHROMIUM"} | {"PATH": str(tmp_path)}
    done = subprocess.run(
        [str(tmp_path / "bash"), str(ROOT / "scripts" / "prerequisites.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "chromium" in lines[0] and "apt-get install" in lines[0], done.stderr
    assert done.stdout == ""


def test_make_test_and_ci_run_the_prerequisites_first() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "test: setup prerequisites lint typecheck" in makefile
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.rstrip().endswith("make test") and "apt-get install -y -qq make" in ci
