"""Document dates and numbers: one gapless series per kind and financial year (April to March)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from invoicing.domain.document import DocumentKind, IssuedDocument
from invoicing.settings import InvoicingSettings

MAX_SEQUENCE = 999_999  # six digits keep PREFIX/YY-YY/NNNNNN within GST's 16 characters


class SeriesExhausted(RuntimeError):
    """A series ran out of six-digit numbers (a new prefix is needed)."""


def local_date(moment: datetime, settings: InvoicingSettings) -> date:
    """A document's date: the event's time in the seller's time zone (DESIGN §9)."""
    return moment.astimezone(ZoneInfo(settings.seller_timezone)).date()


def financial_year(day: date) -> str:
    """India's financial year of `day`: 2026-11-28 → "26-27", 2027-03-31 → "26-27", 2027-04-01 → "27-28"."""
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start % 100:02d}-{(start + 1) % 100:02d}"


def series_prefix(kind: DocumentKind, settings: InvoicingSettings) -> str:
    """Invoices and receipts are numbered in series of their own, told apart by their prefix."""
    return settings.invoice_prefix if kind is DocumentKind.INVOICE else settings.receipt_prefix


def document_number(prefix: str, year: str, sequence: int) -> str:
    if not 1 <= sequence <= MAX_SEQUENCE:
        raise SeriesExhausted(f"{prefix}/{year} has no number {sequence}")
    return f"{prefix}/{year}/{sequence:06d}"


class Series(NamedTuple):
    """One gapless run of numbers: a kind of document in a financial year."""

    kind: DocumentKind
    financial_year: str


@dataclass(frozen=True)
class NumberedDocument:
    document: IssuedDocument
    series: Series
    sequence: int


def series_of(document: IssuedDocument) -> Series:
    return Series(document.kind, financial_year(document.issued_on))


def numbers_needed(documents: Iterable[IssuedDocument]) -> dict[Series, int]:
    """How many numbers each series gives `documents`."""
    return dict(Counter(series_of(document) for document in documents))


def number_documents(
    documents: Iterable[IssuedDocument], last_numbers: Mapping[Series, int], settings: InvoicingSettings
) -> list[NumberedDocument]:
    """`documents` (in the order they were issued) with the numbers taken for them: each series' last
    `numbers_needed`, up to `last_numbers`, in that order."""
    documents = list(documents)
    following = {series: last_numbers[series] - count + 1 for series, count in numbers_needed(documents).items()}
    numbered = []
    for document in documents:
        series = series_of(document)
        sequence = following[series]
        following[series] += 1
        number = document_number(series_prefix(series.kind, settings), series.financial_year, sequence)
        content = document.content.model_copy(update={"number": number})
        numbered.append(NumberedDocument(replace(document, number=number, content=content), series, sequence))
    return numbered
