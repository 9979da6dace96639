"""The load generator: wrk (Debian's), closed loop, one thread, results as JSON from a Lua `done` hook."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MARKER = "WRK_JSON "
# wrk calls done() once with the merged statistics of all its threads; latency in microseconds.
DONE_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "%s{\\"requests\\": %d, \\"duration_us\\": %d, \\"bytes\\": %d, \\"connect_errors\\": %d, "
    .. "\\"read_errors\\": %d, \\"write_errors\\": %d, \\"status_errors\\": %d, \\"timeouts\\": %d, "
    .. "\\"mean_us\\": %.1f, \\"max_us\\": %d, \\"p50_us\\": %d, \\"p90_us\\": %d, \\"p99_us\\": %d, "
    .. "\\"p999_us\\": %d}\\n",
    "%MARKER%", summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
end
"""


class WrkMissing(RuntimeError):
    pass


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise WrkMissing("wrk is not installed: apt-get update && apt-get install -y wrk")
    return found


def wrk_version() -> str:
    answer = subprocess.run([wrk_path(), "--version"], capture_output=True, text=True, timeout=10, check=False)
    return (answer.stdout or answer.stderr).splitlines()[0].strip()


@dataclass
class WrkScript:
    path: Path

    @classmethod
    def create(cls) -> WrkScript:
        handle, name = tempfile.mkstemp(prefix="bench-gateway-", suffix=".lua")
        with os.fdopen(handle, "w") as script:
            script.write(DONE_LUA.replace("%MARKER%", MARKER))
        return cls(Path(name))

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


async def run_wrk(
    url: str,
    *,
    seconds: float,
    connections: int,
    headers: Sequence[tuple[str, str]],
    script: WrkScript,
    cpus: str | None = None,
    timeout_s: float = 5.0,
) -> dict[str, Any]:
    """One wrk run; answers its figures plus the CPU seconds wrk used (from its rusage)."""
    command = [
        wrk_path(),
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={timeout_s:g}s",
        "-s",
        str(script.path),
    ]
    for name, value in headers:
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    if cpus:
        command = ["taskset", "-c", cpus, *command]

    def run() -> tuple[str, str, float]:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            process = subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
            try:
                _, status, usage = os.wait4(process.pid, 0)
            except BaseException:
                process.kill()
                raise
            process.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            if process.returncode != 0:
                raise RuntimeError(f"wrk failed ({process.returncode}): {err.read().decode(errors='replace')}")
            return (
                out.read().decode(errors="replace"),
                err.read().decode(errors="replace"),
                (usage.ru_utime + usage.ru_stime),
            )

    stdout, _, cpu_seconds = await asyncio.wait_for(asyncio.to_thread(run), timeout=seconds + 60)
    line = next((ln for ln in stdout.splitlines() if ln.startswith(MARKER)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{stdout}")
    figures: dict[str, Any] = json.loads(line[len(MARKER) :])
    duration = figures["duration_us"] / 1e6
    figures["requests_per_s"] = figures["requests"] / duration if duration else 0.0
    figures["errors"] = sum(
        figures[k] for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
    )
    figures["wrk_cpu_seconds"] = cpu_seconds
    figures["p50_ms"] = figures["p50_us"] / 1e3
    figures["p90_ms"] = figures["p90_us"] / 1e3
    figures["p99_ms"] = figures["p99_us"] / 1e3
    return figures
