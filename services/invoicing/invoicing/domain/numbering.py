"""Document dates and numbers: one gapless series per kind and financial year (April to March)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from invoicing.domain.document import DocumentKind
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
