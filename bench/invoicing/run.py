"""Invoice PDFs per second: reportlab (render_pdf) against headless Chromium printing the same invoice as HTML.

    uv run python -m bench.invoicing.run [--repeat 5] [--count 200] [--cold-count 5] [--warm-count 30]

One typical invoice (four lines, CGST + SGST, paid; bench/invoicing/sample.py),
rendered four ways, interleaved in every repetition: `render_pdf` in this
process (one thread: one core); a new `chromium --headless --print-to-pdf`
process per PDF (cold); one long-lived headless Chromium printing over the
DevTools protocol, a new tab per PDF (warm) or one tab reused for every PDF
(warm_tab). Figures per route: wall time per PDF and
PDFs/s of a sequential loop, and CPU time per PDF summed over every process
involved. Medians over the repetitions. The ratio is Chromium's CPU time per PDF
over reportlab's (what one core does), and the same for wall time. Writes
bench/results/invoicing.json; exits 0 only when the goal (>= 100 PDFs/s on one
core, >= 50x faster than the cold HTML route) is met.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import io
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import reportlab
from pypdf import PdfReader

from bench.common import load_average, machine
from bench.invoicing import chromium
from bench.invoicing.sample import invoice_html, typical_invoice
from invoicing.adapters.pdf.fonts import load_fonts
from invoicing.adapters.pdf.render import render_pdf
from invoicing.domain.document import Document

RESULTS = Path(__file__).resolve().parents[1] / "results" / "invoicing.json"
GOAL_PDFS_PER_SECOND = 100
GOAL_RATIO = 50
ROUTES = ("reportlab", "chromium_cold", "chromium_warm", "chromium_warm_tab")


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.invoicing.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="repetitions of every route, interleaved")
    parser.add_argument("--count", type=int, default=200, help="reportlab PDFs per repetition")
    parser.add_argument("--cold-count", type=int, default=5, help="cold Chromium PDFs per repetition (0: skip)")
    parser.add_argument("--warm-count", type=int, default=30, help="warm Chromium PDFs per repetition (0: skip)")
    parser.add_argument("--chromium", default="chromium", help="the Chromium binary (Debian: chromium)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds allowed for one cold Chromium PDF")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.count < 1 or args.cold_count < 0 or args.warm_count < 0:
        parser.error("--repeat and --count must be positive, the Chromium counts not negative")
    return args


def calibration_ms() -> float:
    """CPU ms of a fixed pure-Python loop: how fast this (shared) machine is right now."""
    start = time.process_time()
    total = 0
    for value in range(2_000_000):
        total += value
    return (time.process_time() - start) * 1000


def reportlab_batch(document: Document, count: int) -> dict[str, float]:
    cpu, start = time.process_time(), time.perf_counter()
    for _ in range(count):
        render_pdf(document)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return _figures(count, wall, cpu)


def cold_batch(binary: str, html: Path, work: Path, count: int, timeout: float) -> dict[str, float]:
    walls, cpus = [], []
    for _ in range(count):
        wall, cpu = chromium.print_cold(binary, html, work / "cold.pdf", work / "cold-profile", timeout)
        walls.append(wall)
        cpus.append(cpu)
    return _figures(count, sum(walls), sum(cpus)) | {"wall_ms_p50": statistics.median(walls) * 1000}


async def warm_batch(browser: chromium.WarmChromium, url: str, count: int, tab: str | None = None) -> dict[str, float]:
    """`count` PDFs from the running browser: a new tab each, or all in the open tab `tab` (a session id)."""
    browser_cpu, client_cpu, start = chromium.tree_cpu(browser.pid), time.process_time(), time.perf_counter()
    for _ in range(count):
        await (browser.print_in_tab(tab, url) if tab else browser.print_pdf(url))
    wall = time.perf_counter() - start
    client = time.process_time() - client_cpu
    browser_seconds = chromium.tree_cpu(browser.pid) - browser_cpu
    figures = _figures(count, wall, browser_seconds + client)
    return figures | {
        "browser_cpu_ms_per_pdf": browser_seconds / count * 1000,
        "client_cpu_ms_per_pdf": client / count * 1000,
    }


def _figures(count: int, wall: float, cpu: float) -> dict[str, float]:
    return {
        "pdfs": count,
        "wall_ms_per_pdf": wall / count * 1000,
        "pdfs_per_second": count / wall,
        "cpu_ms_per_pdf": cpu / count * 1000,
        "pdfs_per_cpu_second": count / cpu if cpu else 0.0,
    }


def text_of(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    document = typical_invoice()
    binary = chromium.find_chromium(args.chromium) if args.cold_count or args.warm_count else None
    if (args.cold_count or args.warm_count) and binary is None:
        raise SystemExit(f"{args.chromium} not found: apt-get install -y chromium, or --cold-count 0 --warm-count 0")
    results: dict[str, Any] = {
        "benchmark": "invoicing",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": {key: str(value) for key, value in vars(args).items()},
        "machine": machine(),
        "load_average_start": load_average(),
        "calibration_ms_start": calibration_ms(),
        "reportlab": reportlab.Version,
        "rl_accel": importlib.util.find_spec("_rl_accel") is not None,
        "font": load_fonts().regular,
        "chromium": chromium.version(binary) if binary else None,
        "runs": [],
    }
    pdf = render_pdf(document)
    assert document.number in text_of(pdf) and document.total_in_words in text_of(pdf)
    results["pdf_bytes"] = {"reportlab": len(pdf)}
    reportlab_batch(document, 20)  # warm-up: fonts registered, subsets built, code paths hot
    with tempfile.TemporaryDirectory(prefix="bench-invoicing-") as folder:
        work = Path(folder)
        html = work / "invoice.html"
        html.write_text(invoice_html(document), encoding="utf-8")
        if args.cold_count:
            chromium.become_subreaper()
            cold_batch(binary or "", html, work, 1, args.timeout)  # first run creates the profile
            printed = (work / "cold.pdf").read_bytes()
            assert document.number in text_of(printed), "the cold Chromium PDF lacks the invoice number"
            results["pdf_bytes"]["chromium_cold"] = len(printed)
        async with contextlib.AsyncExitStack() as stack:
            browser = None
            if args.warm_count:
                browser = await stack.enter_async_context(chromium.warm_chromium(binary or "", work / "warm-profile"))
                printed = await browser.print_pdf(html.as_uri())
                assert document.number in text_of(printed), "the warm Chromium PDF lacks the invoice number"
                results["pdf_bytes"]["chromium_warm"] = results["pdf_bytes"]["chromium_warm_tab"] = len(printed)
                await warm_batch(browser, html.as_uri(), 3)  # warm-up
                _, tab = await browser.open_tab()
                await warm_batch(browser, html.as_uri(), 3, tab)
            for repetition in range(1, args.repeat + 1):
                figures: dict[str, Any] = {"load_average": load_average()}
                figures["reportlab"] = reportlab_batch(document, args.count)
                if args.cold_count:
                    figures["chromium_cold"] = cold_batch(binary or "", html, work, args.cold_count, args.timeout)
                if browser is not None:
                    figures["chromium_warm"] = await warm_batch(browser, html.as_uri(), args.warm_count)
                    figures["chromium_warm_tab"] = await warm_batch(browser, html.as_uri(), args.warm_count, tab)
                results["runs"].append(figures)
                print(f"repetition {repetition}/{args.repeat}: {_brief(figures)}", flush=True)
    results["load_average_end"] = load_average()
    results["calibration_ms_end"] = calibration_ms()
    results["median"] = _medians(results["runs"])
    return results


def _medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    median: dict[str, Any] = {}
    for route in ROUTES:
        present = [run[route] for run in runs if route in run]
        if present:
            median[route] = {key: statistics.median(run[key] for run in present) for key in present[0]}
    ours = median["reportlab"]
    for route in ROUTES[1:]:
        if route in median:
            median[f"cpu_ratio_{route}"] = median[route]["cpu_ms_per_pdf"] / ours["cpu_ms_per_pdf"]
            median[f"wall_ratio_{route}"] = median[route]["wall_ms_per_pdf"] / ours["wall_ms_per_pdf"]
    fast_enough = ours["pdfs_per_cpu_second"] >= GOAL_PDFS_PER_SECOND
    ratio = median.get("cpu_ratio_chromium_cold")
    median["goal_met"] = fast_enough and ratio is not None and ratio >= GOAL_RATIO
    return median


def _brief(figures: dict[str, Any]) -> str:
    parts = [f"load {figures['load_average'][0]}"]
    for route in ROUTES:
        if route in figures:
            route_figures = figures[route]
            parts.append(
                f"{route} {route_figures['cpu_ms_per_pdf']:.1f} CPU ms, {route_figures['wall_ms_per_pdf']:.1f} wall ms"
            )
    return "; ".join(parts)


def report(results: dict[str, Any]) -> str:
    median = results["median"]
    lines = [
        f"reportlab {results['reportlab']} (rl_accel: {results['rl_accel']}, font {results['font']}), "
        f"{results['chromium'] or 'no chromium'}",
        f"load average {results['load_average_start']} -> {results['load_average_end']}; calibration loop "
        f"{results['calibration_ms_start']:.0f} -> {results['calibration_ms_end']:.0f} CPU ms",
        "",
        "| route | PDFs/s (wall, 1 loop) | wall ms/PDF | CPU ms/PDF | PDFs per CPU second | PDF bytes |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for route in ROUTES:
        if route in median:
            figures = median[route]
            lines.append(
                f"| {route} | {figures['pdfs_per_second']:,.1f} | {figures['wall_ms_per_pdf']:,.1f} | "
                f"{figures['cpu_ms_per_pdf']:,.1f} | {figures['pdfs_per_cpu_second']:,.1f} | "
                f"{results['pdf_bytes'].get(route, 0):,} |"
            )
    lines.append("")
    for route in ROUTES[1:]:
        if f"cpu_ratio_{route}" in median:
            lines.append(
                f"reportlab vs {route}: {median[f'cpu_ratio_{route}']:,.0f}x less CPU per PDF, "
                f"{median[f'wall_ratio_{route}']:,.0f}x less wall time"
            )
    lines.append(
        f"goal (>= {GOAL_PDFS_PER_SECOND} PDFs/s on one core, >= {GOAL_RATIO}x the cold HTML route): "
        f"{'met' if median['goal_met'] else 'NOT met'}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    results = asyncio.run(run(args))
    print(report(results))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results written to {args.output}")
    return 0 if results["median"]["goal_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
