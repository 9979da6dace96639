"""The documents after a chaos run: one invoice per order, one receipt per top-up, gapless numbers."""

from __future__ import annotations

from collections import Counter

from chaos.check import DOUBLING, LOSS, Check
from chaos.drain import rows
from chaos.processes import System

DocumentKey = tuple[str, str, str, str]  # account, kind, source, status


async def document_checks(system: System) -> list[Check]:
    billing, invoicing = system.infra.database_url("billing"), system.infra.database_url("invoicing")
    return [await _documents_check(billing, invoicing), await _numbering_check(invoicing)]


async def _wanted_documents(billing: str) -> Counter[DocumentKey]:
    """The documents billing's database calls for: an invoice per order, a receipt per top-up."""
    wanted: Counter[DocumentKey] = Counter()
    for r in await rows(billing, 'SELECT account_id, order_id, status FROM "order"'):
        wanted[(r["account_id"], "invoice", r["order_id"], "paid" if r["status"] == "paid" else "due")] += 1
    for r in await rows(billing, "SELECT account_id, id FROM offline_payment WHERE status = 'approved'"):
        wanted[(r["account_id"], "receipt", r["id"], "paid")] += 1
    for r in await rows(billing, "SELECT account_id, id FROM payment WHERE status = 'succeeded'"):
        wanted[(r["account_id"], "receipt", r["id"], "paid")] += 1
    return wanted


async def _documents_check(billing: str, invoicing: str) -> Check:
    wanted = await _wanted_documents(billing)
    issued: Counter[DocumentKey] = Counter(
        (r["account_id"], r["kind"], r["source"], r["status"])
        for r in await rows(invoicing, "SELECT account_id, kind, source, status FROM document")
    )
    missing = wanted - issued
    extra = issued - wanted
    by_kind = Counter(key[1] for key in missing)
    return Check(
        "documents",
        "every order has exactly one invoice (paid when paid) and every top-up one receipt",
        not missing and not extra,
        f"missing or wrong status: {dict(by_kind) or 0}; extra: {sum(extra.values())}",
        DOUBLING if extra else LOSS,
    )


async def _numbering_check(invoicing: str) -> Check:
    series = {
        (r["kind"], r["financial_year"]): int(r["last_number"])
        for r in await rows(invoicing, "SELECT kind, financial_year, last_number FROM document_series")
    }
    numbers: dict[tuple[str, str], list[int]] = {}
    for r in await rows(invoicing, "SELECT kind, financial_year, sequence FROM document ORDER BY sequence"):
        numbers.setdefault((r["kind"], r["financial_year"]), []).append(int(r["sequence"]))
    gaps = []
    for key in series.keys() | numbers.keys():
        given = numbers.get(key, [])
        if given != list(range(1, len(given) + 1)) or series.get(key, 0) != len(given):
            gaps.append(f"{key[0]} {key[1]}: {len(given)} documents, last number {series.get(key, 0)}")
    return Check(
        "numbering",
        "invoice and receipt numbers gapless per series",
        not gaps,
        "; ".join(gaps) or f"{sum(len(v) for v in numbers.values())} documents in {len(numbers)} series",
        LOSS,
    )
