"""Financial years and document numbers."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from invoicing.domain.document import DocumentKind
from invoicing.domain.numbering import SeriesExhausted, document_number, financial_year, local_date, series_prefix
from invoicing.settings import InvoicingSettings


@pytest.mark.parametrize(
    ("day", "year"),
    [
        (date(2026, 11, 28), "26-27"),
        (date(2027, 3, 31), "26-27"),
        (date(2027, 4, 1), "27-28"),
        (date(2026, 1, 1), "25-26"),
        (date(2099, 4, 1), "99-00"),
    ],
)
def test_the_financial_year_runs_april_to_march(day: date, year: str) -> None:
    assert financial_year(day) == year


def test_numbers_fit_gst_rules() -> None:
    assert document_number("TGI", "26-27", 42) == "TGI/26-27/000042"
    assert len(document_number("ABC", "26-27", 999_999)) == 16
    for bad in (0, 1_000_000):
        with pytest.raises(SeriesExhausted):
            document_number("TGI", "26-27", bad)


def test_a_documents_date_is_the_sellers_local_date() -> None:
    settings = InvoicingSettings(env="development")
    assert local_date(datetime(2027, 3, 31, 18, 29, tzinfo=UTC), settings) == date(2027, 3, 31)
    assert local_date(datetime(2027, 3, 31, 18, 30, tzinfo=UTC), settings) == date(2027, 4, 1)


@pytest.mark.parametrize("prefix", ["TGIX", "T/G", ""])
def test_prefixes_that_would_break_the_number_are_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="invoice_prefix"):
        InvoicingSettings(env="development", invoice_prefix=prefix)


def test_invoices_and_receipts_are_numbered_in_series_of_their_own() -> None:
    settings = InvoicingSettings(env="development", invoice_prefix="INV", receipt_prefix="RV")
    assert series_prefix(DocumentKind.INVOICE, settings) == "INV"
    assert series_prefix(DocumentKind.RECEIPT, settings) == "RV"
