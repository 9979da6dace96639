"""Reading a cProfile dump of a billing or invoicing process: own time by library, and the costliest functions.

cProfile sees the main thread only, which is where the event loop (and so
nearly all the work of an async service) runs, and counts that thread's CPU
time (see profiled_serve). It slows the process down two to three times, so
the shares are what counts, not the absolute times.
"""

from __future__ import annotations

import pstats
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

_SITE = re.compile(r"site-packages/([A-Za-z0-9_]+)")
_STDLIB = re.compile(r"python3\.\d+/(?:lib-dynload/)?([A-Za-z0-9_]+)")
_OURS = {
    "/services/billing/": "billing (service code)",
    "/services/invoicing/": "invoicing (service code)",
    "/shared/tollgate_shared/": "tollgate_shared",
    "/tollgate/": "tollgate (cli)",
}
# Libraries that belong together, so the table reads as layers.
_LAYERS = {
    "sqlalchemy": "sqlalchemy",
    "asyncpg": "asyncpg",
    "opentelemetry": "opentelemetry",
    "wrapt": "opentelemetry",
    "fastapi": "fastapi + starlette",
    "starlette": "fastapi + starlette",
    "pydantic": "pydantic",
    "pydantic_core": "pydantic",
    "uvicorn": "uvicorn + httptools",
    "httptools": "uvicorn + httptools",
    "aio_pika": "aio_pika + aiormq + pamqp",
    "aiormq": "aio_pika + aiormq + pamqp",
    "pamqp": "aio_pika + aiormq + pamqp",
    "jwt": "jwt + cryptography",
    "cryptography": "jwt + cryptography",
    "anyio": "anyio (thread pool hops)",
    "asyncio": "asyncio",
    "uvloop": "asyncio",
}


def layer(filename: str) -> str:
    for marker, name in _OURS.items():
        if marker in filename:
            return name
    if match := _SITE.search(filename):
        return _LAYERS.get(match.group(1), match.group(1))
    if filename.startswith("~") or filename == "<built-in>":
        return "builtins (C functions)"
    if match := _STDLIB.search(filename):
        return _LAYERS.get(match.group(1), f"stdlib {match.group(1)}")
    return "other"


def summarise(path: Path, *, orders: int, top: int = 25) -> dict[str, Any]:
    """Own time per layer (share of the total) and the functions with the most own time."""
    stats = pstats.Stats(str(path))
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values()) or 1.0
    by_layer: dict[str, float] = defaultdict(float)
    functions = []
    for (filename, line, name), (_cc, calls, own, cumulative, _callers) in raw.items():
        by_layer[layer(filename)] += own
        functions.append((own, cumulative, calls, f"{_short(filename)}:{line} {name}"))
    functions.sort(reverse=True)
    return {
        "profiled_seconds": round(total, 3),
        "orders": orders,
        "profiled_ms_per_order": round(total * 1000 / orders, 3) if orders else None,
        "by_layer": {
            name: {
                "share": round(seconds / total, 4),
                "ms_per_order": round(seconds * 1000 / orders, 3) if orders else None,
            }
            for name, seconds in sorted(by_layer.items(), key=lambda item: -item[1])
        },
        "top_functions": [
            {"own_s": round(own, 3), "cumulative_s": round(cum, 3), "calls": calls, "function": where}
            for own, cum, calls, where in functions[:top]
        ],
        "counts": _counts(raw, orders),
    }


def _counts(raw: dict[Any, Any], orders: int) -> dict[str, float | None]:
    """Work per order read from plain (non-coroutine) functions, whose call counts are exact.

    (cProfile counts every resumption of a coroutine as a call, and SQLAlchemy's
    greenlets make cumulative times of async code meaningless: own times and
    the counts below are what to trust.)"""
    if not orders:
        return {}

    def matching(file_part: str, function: str) -> list[Any]:
        return [v for (f, _l, n), v in raw.items() if n == function and f.endswith(file_part)]

    compiles = matching("sql/compiler.py", "__init__")
    return {
        "sql_statements_per_order": round(
            sum(v[1] for v in matching("engine/base.py", "_execute_clauseelement")) / orders, 2
        ),
        # Of those, or besides them: run on asyncpg by tollgate_shared.direct_sql (one `_direct` call each).
        "driver_statements_per_order": round(sum(v[1] for v in matching("direct_sql.py", "_direct")) / orders, 2),
        "statements_compiled_per_order": round(max((v[1] for v in compiles), default=0) / orders, 2),
        "compiling_ms_per_order_profiled": round(max((v[3] for v in compiles), default=0.0) * 1000 / orders, 3),
        "pool_pre_pings_per_order": round(sum(v[1] for v in matching("postgresql/asyncpg.py", "do_ping")) / orders, 2),
    }


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/services/", "/shared/", "/lib/python3.11/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename
