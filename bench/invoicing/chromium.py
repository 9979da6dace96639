"""The HTML route: headless Chromium printing an HTML page to PDF, cold and warm.

Cold is what a billing system that shells out does for every document:
`chromium --headless --disable-gpu --no-sandbox --print-to-pdf=out.pdf page.html`,
a new browser per PDF. Warm is what a Puppeteer/Playwright service does: one
long-lived headless browser, and per PDF a new page (tab) that loads the HTML,
`Page.printToPDF` over the DevTools protocol, and closes; or, cheaper still, one
tab kept open and reused for every PDF.

CPU time covers every Chromium process (browser, zygote, renderers, utility
processes): for cold runs this process is made a child subreaper, so every
descendant is reaped here and its time lands in RUSAGE_CHILDREN; for the warm
browser the time of the whole process tree is read from /proc, including the
children its processes reaped (cutime, cstime).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ctypes
import itertools
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import TICKS

FLAGS = ["--headless", "--disable-gpu", "--no-sandbox"]
# No date, title and URL printed around the page: an invoice does not want them.
PRINT_FLAGS = ["--no-pdf-header-footer"]
PR_SET_CHILD_SUBREAPER = 36


def find_chromium(name: str) -> str | None:
    return shutil.which(name)


def version(binary: str) -> str:
    answer = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=60, check=False)
    return answer.stdout.strip()


def become_subreaper() -> None:
    """Orphaned descendants (Chromium's zygote and renderers) are re-parented to us, not to init."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def reap_orphans(deadline: float) -> None:
    """Wait for every re-parented descendant, so its CPU time counts in RUSAGE_CHILDREN."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if time.monotonic() > deadline:
                return
            time.sleep(0.005)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def print_cold(binary: str, html: Path, out: Path, profile: Path, timeout: float) -> tuple[float, float]:
    """One PDF by a new Chromium process: (wall seconds, CPU seconds of all its processes)."""
    out.unlink(missing_ok=True)
    cpu, start = children_cpu(), time.perf_counter()
    command = [binary, *FLAGS, *PRINT_FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={out}", str(html)]
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout, check=True)
    wall = time.perf_counter() - start
    reap_orphans(time.monotonic() + 10)
    if not out.is_file() or out.stat().st_size == 0:
        raise RuntimeError(f"chromium wrote no PDF to {out}")
    return wall, children_cpu() - cpu


def tree_cpu(root: int) -> float:
    """CPU seconds of a process and all its descendants, with the children they reaped."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                raw = stat.read()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        times[pid] = sum(int(value) for value in fields[11:15]) / TICKS  # utime stime cutime cstime
    total = 0.0
    for pid, seconds in times.items():
        ancestor = pid
        while ancestor not in (0, 1, root):
            ancestor = parents.get(ancestor, 0)
        if ancestor == root:
            total += seconds
    return total


class WarmChromium:
    """One headless Chromium driven over the DevTools protocol (a websocket, no Playwright)."""

    def __init__(self, process: asyncio.subprocess.Process, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.process, self.socket = process, socket
        self._ids = itertools.count(1)
        self._answers: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._events: dict[tuple[str, str | None], asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read())

    @property
    def pid(self) -> int:
        return self.process.pid

    async def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> Any:
        message: dict[str, Any] = {"id": next(self._ids), "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        answer = self._answers[message["id"]] = asyncio.get_running_loop().create_future()
        await self.socket.send_str(json.dumps(message))
        reply = await asyncio.wait_for(answer, 60)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def expect(self, event: str, session: str | None) -> asyncio.Future[dict[str, Any]]:
        waiter = self._events[(event, session)] = asyncio.get_running_loop().create_future()
        return waiter

    async def print_pdf(self, url: str) -> bytes:
        """A new tab loads the page, prints it, closes: what a PDF service does per request."""
        target, session = await self.open_tab()
        try:
            return await self.print_in_tab(session, url)
        finally:
            await self.call("Target.closeTarget", {"targetId": target})

    async def open_tab(self) -> tuple[str, str]:
        target = (await self.call("Target.createTarget", {"url": "about:blank"}))["targetId"]
        session = (await self.call("Target.attachToTarget", {"targetId": target, "flatten": True}))["sessionId"]
        await self.call("Page.enable", session=session)
        return target, session

    async def print_in_tab(self, session: str, url: str) -> bytes:
        """Load the page in an open tab and print it (a tab reused for every PDF: the cheapest HTML route)."""
        loaded = self.expect("Page.loadEventFired", session)
        await self.call("Page.navigate", {"url": url}, session=session)
        await asyncio.wait_for(loaded, 60)
        options = {"printBackground": True, "preferCSSPageSize": True, "displayHeaderFooter": False}
        printed = await self.call("Page.printToPDF", options, session=session)
        return base64.b64decode(printed["data"])

    async def _read(self) -> None:
        async for message in self.socket:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            if "id" in data:
                answer = self._answers.pop(data["id"], None)
                if answer is not None and not answer.done():
                    answer.set_result(data)
                continue
            waiter = self._events.pop((data.get("method", ""), data.get("sessionId")), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(data.get("params", {}))


@contextlib.asynccontextmanager
async def warm_chromium(binary: str, profile: Path) -> AsyncIterator[WarmChromium]:
    """Start a headless Chromium with the DevTools protocol on a free port; stop it (and its group) after."""
    process = await asyncio.create_subprocess_exec(
        binary,
        *FLAGS,
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        url = await asyncio.wait_for(_devtools_url(process), 60)
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(url, max_msg_size=0, timeout=aiohttp.ClientWSTimeout(ws_close=10)) as socket,
        ):
            browser = WarmChromium(process, socket)
            drain = asyncio.create_task(_drain(process))
            try:
                yield browser
            finally:
                browser._reader.cancel()
                drain.cancel()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await asyncio.wait_for(process.wait(), 10)


async def _devtools_url(process: asyncio.subprocess.Process) -> str:
    assert process.stderr is not None
    while line := await process.stderr.readline():
        found = re.search(rb"DevTools listening on (ws://\S+)", line)
        if found:
            return found.group(1).decode()
    raise RuntimeError("chromium exited before it opened the DevTools port")


async def _drain(process: asyncio.subprocess.Process) -> None:
    """Keep reading Chromium's stderr so its pipe never fills and blocks it."""
    assert process.stderr is not None
    while await process.stderr.readline():
        pass
