"""Invoice and receipt PDFs: what a reader (and a text extractor) finds on them."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from pypdf import PdfReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from invoicing.adapters.pdf.fonts import load_fonts
from invoicing.adapters.pdf.render import render_pdf
from invoicing.adapters.pdf.text import format_amount
from invoicing.domain.document import Document
from tests.support.invoice_documents import KARNATAKA_BUYER, MAHARASHTRA_BUYER, receipt_voucher, tax_invoice


def pages_text(pdf: bytes) -> list[str]:
    """Each page's text with its whitespace collapsed, as a reader would search it."""
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


def test_an_intra_state_invoice_shows_everything_on_one_page_with_cgst_and_sgst() -> None:
    document = tax_invoice(KARNATAKA_BUYER)
    pages = pages_text(render_pdf(document))

    assert len(pages) == 1
    text = pages[0]
    for expected in [
        "Tax Invoice",
        "Invoice No.: TGI/26-27/000042",
        "Date: 27 Nov 2026",
        "Order ID: ord-7f3a9c",
        "Place of supply: Karnataka (29)",
        "GSTIN: 29AAACT1234A1ZX",
        "GSTIN: 29AAGCB7383J1Z4",
        "Tollgate Certificates Private Limited",
        "12 Residency Road Bengaluru 560025",
        "State: Karnataka (Code 29)",
        "Bangalore Widgets & Sons <LLP>",
        "CGST",
        "SGST",
        "9%",
        "PAID",
    ]:
        assert expected in text, expected
    assert "IGST" not in text
    for line in document.lines:
        assert line.description in text
    # 12,500 + 77,999 + 31,457.78 + 0.99 = 1,21,957.77; 9 % each = 10,976.20 (per line, rounded).
    assert "Taxable value ₹ 1,21,957.77" in text
    assert "CGST ₹ 10,976.20" in text and "SGST ₹ 10,976.20" in text
    assert "Total ₹ 1,43,910.17" in text
    assert document.totals.total == Decimal("143910.17")
    assert "Total in words: Rupees One Lakh Forty Three Thousand Nine Hundred Ten and Seventeen Paise Only" in text


def test_an_inter_state_invoice_shows_igst_instead_of_cgst_and_sgst() -> None:
    document = tax_invoice(MAHARASHTRA_BUYER)
    text = pages_text(render_pdf(document))[0]

    assert "IGST" in text and "18%" in text
    assert "CGST" not in text and "SGST" not in text
    assert "GSTIN: 29AAACT1234A1ZX" in text and "GSTIN: 27AAPFU0939F1ZV" in text
    assert "Place of supply: Maharashtra (27)" in text
    assert "IGST ₹ 21,952.40" in text
    assert f"Total ₹ {'1,43,910.17'}" in text
    assert document.total_in_words in text
    for line in document.lines:
        assert line.description in text


def test_the_payment_details_are_printed_with_the_stamp() -> None:
    text = pages_text(render_pdf(tax_invoice(KARNATAKA_BUYER)))[0]

    assert "Payment details — PAID" in text
    assert "Method Online payment" in text
    assert "Reference / UTR pi_3QxYz12345abcdef" in text
    assert "Paid on 28 Nov 2026" in text
    assert "Provider stripe" in text


def test_a_due_invoice_is_stamped_due_and_has_no_payment_block() -> None:
    text = pages_text(render_pdf(tax_invoice(KARNATAKA_BUYER, paid=False)))[0]

    assert "DUE" in text
    assert "PAID" not in text and "Payment details" not in text


def test_a_receipt_voucher_for_an_offline_top_up() -> None:
    document = receipt_voucher()
    text = pages_text(render_pdf(document))[0]

    for expected in [
        "Receipt Voucher",
        "Voucher No.: TGR/26-27/000007",
        "Chennai Hosting Co",
        "GSTIN: Unregistered",
        "State: Tamil Nadu (Code 33)",
        "Advance for certificate services (prepaid credits)",
        "998319",
        "Total ₹ 2,50,000.00",
        "Total in words: Rupees Two Lakh Fifty Thousand Only",
        "Method NEFT",
        "Reference / UTR UTR SBIN526332187654",
        "Bank State Bank of India",
        "Receipt voucher for an advance (prepaid credits).",
    ]:
        assert expected in text, expected
    assert "Order ID" not in text


def test_the_same_document_renders_to_the_same_bytes() -> None:
    document = tax_invoice(KARNATAKA_BUYER)
    first = render_pdf(document)

    assert render_pdf(document) == first
    assert render_pdf(Document.model_validate_json(document.model_dump_json())) == first
    assert render_pdf(tax_invoice(MAHARASHTRA_BUYER)) != first


def test_a_hundred_lines_flow_over_pages_and_repeat_the_table_header() -> None:
    items = [(f"DV SSL certificate, 1 year: host{n:03d}.example.in", 1, "999.00") for n in range(100)]
    document = tax_invoice(KARNATAKA_BUYER, items=items)
    pages = pages_text(render_pdf(document))

    assert len(pages) >= 3
    for number, text in enumerate(pages, start=1):
        if "example.in" in text:  # a page with lines repeats the table's header
            assert "Description SAC Qty" in text and "Rate Amount Rate Amount" in text, number
        assert f"Tax Invoice TGI/26-27/000042 · Page {number} of {len(pages)}" in text
    everything = " ".join(pages)
    for line in document.lines:
        assert line.description in everything
    assert "Total ₹ 1,17,882.00" in everything
    assert "Rupees One Lakh Seventeen Thousand Eight Hundred Eighty Two Only" in everything


def test_a_very_long_description_still_renders() -> None:
    items = [("Certificate for " + "very-long-subdomain." * 300 + "example.in", 1, "1.00")]
    pdf = render_pdf(tax_invoice(KARNATAKA_BUYER, items=items))

    assert len(PdfReader(io.BytesIO(pdf)).pages) >= 2


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("0.00", "0.00"),
        ("999.00", "999.00"),
        ("1000.00", "1,000.00"),
        ("123456.78", "1,23,456.78"),
        ("12345678.90", "1,23,45,678.90"),
        ("1000000000000.00", "10,00,00,00,00,000.00"),
    ],
)
def test_rupee_amounts_use_indian_grouping(amount: str, text: str) -> None:
    assert format_amount(Decimal(amount), "INR") == text
    assert format_amount(Decimal(amount), "USD") == format(Decimal(amount), ",.2f")


def test_renders_in_parallel_threads_match_a_serial_render() -> None:
    # The service renders through asyncio.to_thread, several documents at a time.
    documents = [tax_invoice(KARNATAKA_BUYER), tax_invoice(MAHARASHTRA_BUYER), receipt_voucher()] * 4
    serial = [render_pdf(document) for document in documents]

    with ThreadPoolExecutor(max_workers=6) as pool:
        parallel = list(pool.map(render_pdf, documents))

    assert parallel == serial


def test_reused_font_programs_give_the_bytes_reportlab_writes_itself() -> None:
    fonts = load_fonts()
    if not fonts.regular.startswith("DejaVu"):
        pytest.skip("DejaVu Sans is not installed: no font program to reuse")
    document = tax_invoice(MAHARASHTRA_BUYER)
    cached = render_pdf(document)
    registered = [pdfmetrics.getFont(name) for name in (fonts.regular, fonts.bold)]
    try:
        for font in registered:
            pdfmetrics.registerFont(TTFont(font.fontName, font.face.filename))
        assert render_pdf(document) == cached
    finally:
        for font in registered:
            pdfmetrics.registerFont(font)
