"""Where a process's samples went, from py-spy's raw output: inclusive share by function and by layer.

    uvx py-spy record -p PID -d 20 -r 200 -f raw -o /tmp/profile.txt --nonblocking
    uv run --frozen python -m bench.spy_summary /tmp/profile.txt [--top 40] [--under FUNCTION]

A raw line is one stack (outermost frame first, `function (file:line)` joined by
`;`) and how many samples it got. A function's inclusive share counts every
sample with that function anywhere on the stack, once per sample however deep it
recurses; frames are told apart by function and file, not by line. `--under`
keeps only the samples with that function on their stack (the shares are then
of those). The layer of a sample is the package of its innermost frame (its own
time): `sqlalchemy`, `asyncpg`, `pydantic`, `invoicing`, …; and each sample is also
charged to the innermost function of the project's own code on its stack (the
store function whose statements the libraries below it were running).

Two things to keep in mind reading an async service's profile: code SQLAlchemy
runs in a greenlet (its sync side) shows as stacks of their own, rooted at the
greenlet's first frame (`Session.execute`, …), without the coroutine that called
it; and a thread waiting for a core counts as busy, so on a shared machine the
places where it yields the CPU (a socket write that wakes PostgreSQL) collect
samples. CPU time per function comes from cProfile with a CPU timer instead
(bench/billing/profiled_serve.py).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^():]*)(?::\d+)?\)$")


def stacks(path: Path) -> Iterator[tuple[list[str], int]]:
    """(frames as `function (file)`, samples) of each line of a raw py-spy file."""
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            yield [_without_line(frame) for frame in stack.split(";")], int(count)


def _without_line(frame: str) -> str:
    found = _FRAME.match(frame)
    return f"{found['function']} ({found['file']})" if found else frame


def layer(frame: str) -> str:
    """`sqlalchemy` for `execute (sqlalchemy/orm/session.py)`; the interpreter's own modules as `python`."""
    found = _FRAME.match(frame)
    file = found["file"] if found else frame
    top = file.split("/")[0]
    return top.removesuffix(".py") if "/" in file else "python"


def ours(frames: list[str]) -> str:
    """The innermost frame of the project's own code (what called the libraries below it), or where
    the sample has none: the event loop's own time, or a greenlet's stack (its caller is not on it)."""
    for frame in reversed(frames):
        if layer(frame) in OWN_PACKAGES:
            return frame
    return "(event loop)" if any(f.startswith("Runner.run ") for f in frames) else "(greenlet, caller unknown)"


OWN_PACKAGES = {"auth", "billing", "invoicing", "gateway", "tollgate_shared"}  # not the CLI, which runs the loop


def summarise(path: Path, under: str | None = None) -> tuple[int, Counter[str], Counter[str], Counter[str]]:
    """Samples in all, and the samples of each function (inclusive), of each layer (own time) and of
    each innermost function of the project's own code."""
    total, inclusive, own, by_ours = 0, Counter[str](), Counter[str](), Counter[str]()
    for frames, count in stacks(path):
        if under is not None and not any(frame.startswith(under + " (") for frame in frames):
            continue
        total += count
        inclusive.update(dict.fromkeys(frames, count))
        own[layer(frames[-1])] += count
        by_ours[ours(frames)] += count
    return total, inclusive, own, by_ours


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.spy_summary", description=__doc__.split("\n\n")[0])
    parser.add_argument("raw", type=Path, help="py-spy record -f raw output")
    parser.add_argument("--top", type=int, default=40, help="functions shown")
    parser.add_argument("--under", help="only samples with this function on their stack (e.g. _Inbox._transaction)")
    args = parser.parse_args(argv)
    total, inclusive, own, by_ours = summarise(args.raw, args.under)
    if not total:
        print("no samples", file=sys.stderr)
        return 1
    print(f"{total} samples{f' under {args.under}' if args.under else ''}\n\ninclusive  function")
    for frame, count in inclusive.most_common(args.top):
        print(f"{count * 100 / total:8.1f} %  {frame}")
    print("\nown time by layer")
    for name, count in own.most_common():
        print(f"{count * 100 / total:8.1f} %  {name}")
    print("\nby the innermost function of the project's own code")
    for frame, count in by_ours.most_common(args.top):
        print(f"{count * 100 / total:8.1f} %  {frame}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
