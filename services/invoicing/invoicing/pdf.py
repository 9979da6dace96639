"""A Document printed as an A4 PDF (GST Rule 46 shape) with reportlab's platypus.

A pure function of the Document: the same document gives byte-identical bytes
(`invariant=True`: fixed creation date and file id, no clock), so the stored copy
and its ETag never change under a re-render. CPU work of a few milliseconds: the
service calls it through `asyncio.to_thread`.

Text is drawn in DejaVu Sans, embedded (subset) with a ToUnicode map, so every
word is extractable and the rupee sign prints (DESIGN.md §9; the Docker image
installs `fonts-dejavu-core`). Where the font is missing (a bare development
machine) it falls back to the standard Helvetica, which has no rupee sign:
amounts then carry "INR" instead of "₹".
"""

from __future__ import annotations

import io
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from invoicing.domain.document import Document, Line, Party

FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",  # Debian, Ubuntu (fonts-dejavu-core)
    "/usr/share/fonts/dejavu",  # Fedora, Alpine
    "/usr/share/fonts/TTF",  # Arch
    "/usr/local/share/fonts",
)
MARGIN = 12 * mm
WIDTH = A4[0] - 2 * MARGIN
METHODS = {
    "credits": "Prepaid credits",
    "online": "Online payment",
    "card": "Card",
    "neft": "NEFT",
    "rtgs": "RTGS",
    "imps": "IMPS",
    "upi": "UPI",
    "cheque": "Cheque",
    "wire": "Wire transfer",
}
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
_GRID = colors.Color(0.6, 0.6, 0.6)
_SHADE = colors.Color(0.93, 0.93, 0.93)
_PAID = colors.Color(0.0, 0.45, 0.2)
_DUE = colors.Color(0.75, 0.1, 0.1)


class _Look(NamedTuple):
    regular: str
    bold: str
    rupee: str  # what goes before an INR amount
    body: ParagraphStyle
    small: ParagraphStyle
    cell: ParagraphStyle
    heading: ParagraphStyle
    title: ParagraphStyle
    right: ParagraphStyle


def render_pdf(document: Document) -> bytes:
    """The document as PDF bytes: one A4 page for a typical invoice, more as lines require."""
    look = _look()
    out = io.BytesIO()
    pdf = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 6 * mm,
        invariant=True,
        title=f"{document.title} {document.number}",
        author=document.seller.name,
        subject=f"{document.title} {document.number} of {_date(document)}",
        creator="Tollgate invoicing",
    )
    footer = f"{document.title} {document.number}"

    def number_pages(canvas: Canvas, pages: int) -> None:
        canvas.setFont(look.regular, 7.5)
        canvas.setFillColor(colors.Color(0.35, 0.35, 0.35))
        canvas.drawString(MARGIN, MARGIN, "Computer-generated document; no signature required.")
        canvas.drawRightString(A4[0] - MARGIN, MARGIN, f"{footer} · Page {canvas.getPageNumber()} of {pages}")

    pdf.build(_story(document, look), canvasmaker=_numbered_canvas(number_pages))
    return out.getvalue()


def _story(document: Document, look: _Look) -> list[Flowable]:
    story: list[Flowable] = [_heading(document, look), Spacer(0, 4 * mm), _parties(document, look)]
    story += [Spacer(0, 5 * mm), _items(document, look), Spacer(0, 3 * mm), _totals(document, look)]
    story += [Spacer(0, 2 * mm), Paragraph(f"<b>Total in words:</b> {_text(document.total_in_words)}", look.body)]
    if document.payment is not None:
        story += [Spacer(0, 5 * mm), _payment(document, look)]
    for note in document.notes:
        story += [Spacer(0, 3 * mm), Paragraph(_text(note), look.small)]
    return story


def _heading(document: Document, look: _Look) -> Table:
    seller = document.seller
    left = [Paragraph(f"<b>{_text(seller.name)}</b>", look.heading), *_party_lines(seller, look)]
    stamp, colour = ("PAID", _PAID) if document.status == "paid" else ("DUE", _DUE)
    right = [
        Paragraph(_text(document.title), look.title),
        Paragraph("Original for recipient", look.right),
        Spacer(0, 2 * mm),
        Table(
            [[stamp]],
            colWidths=[28 * mm],
            hAlign="RIGHT",
            style=[
                ("FONT", (0, 0), (-1, -1), look.bold, 13),
                ("TEXTCOLOR", (0, 0), (-1, -1), colour),
                ("BOX", (0, 0), (-1, -1), 1.5, colour),
                ("ALIGN", (0, 0), (-1, -1), "CENTER"),
            ],
        ),
    ]
    return Table([[left, right]], colWidths=[WIDTH * 0.62, WIDTH * 0.38], style=_boxless())


def _parties(document: Document, look: _Look) -> Table:
    buyer = document.buyer
    label = "Invoice No." if document.kind == "invoice" else "Voucher No."
    facts = [(label, document.number), ("Date", _date(document))]
    if document.order_id:
        facts.append(("Order ID", document.order_id))
    facts.append(("Place of supply", document.place_of_supply))
    left = [Paragraph("<b>Bill to</b>", look.small), Paragraph(f"<b>{_text(buyer.name)}</b>", look.body)]
    left += _party_lines(buyer, look, unregistered="Unregistered")
    right = [Paragraph(f"<b>{name}:</b> {_text(value)}", look.body) for name, value in facts]
    return Table(
        [[left, right]],
        colWidths=[WIDTH * 0.55, WIDTH * 0.45],
        style=[*_boxless(), ("BOX", (0, 0), (-1, -1), 0.5, _GRID), ("LINEAFTER", (0, 0), (0, 0), 0.5, _GRID)],
    )


def _party_lines(party: Party, look: _Look, unregistered: str | None = None) -> list[Flowable]:
    lines = [Paragraph(_text(party.address), look.body)] if party.address.strip() else []
    state = f"{party.state} (Code {party.state_code})" if party.state_code else party.state
    lines.append(Paragraph(f"State: {_text(state)}", look.body))
    gstin = party.gstin or unregistered
    if gstin:
        lines.append(Paragraph(f"GSTIN: {_text(gstin)}", look.body))
    return lines


def _items(document: Document, look: _Look) -> Table:
    lines, taxes = document.lines, _taxes(document)
    money = f"({_symbol(document.currency, look)})"
    top = ["#", "Description", "SAC", "Qty", f"Unit price\n{money}", f"Taxable\nvalue {money}"]
    top += [cell for name in taxes for cell in (name, "")]
    sub = [""] * 6 + ["Rate", "Amount"] * len(taxes)
    rows: list[list[Any]] = [top, sub]
    for number, line in enumerate(lines, start=1):
        row: list[Any] = [str(number), Paragraph(_text(line.description), look.cell), line.sac, str(line.quantity)]
        row += [_amount(line.unit_price, document.currency), _amount(line.taxable_value, document.currency)]
        for name in taxes:
            row += _tax(line, name, document.currency)
        rows.append(row)
    fixed = [7 * mm, 14 * mm, 9 * mm, 21 * mm, 22 * mm] + [10 * mm, 20 * mm] * len(taxes)
    widths = [fixed[0], WIDTH - sum(fixed), *fixed[1:]]
    style = [
        ("FONT", (0, 0), (-1, -1), look.regular, 8),
        ("FONT", (0, 0), (-1, 1), look.bold, 7.5),
        ("BACKGROUND", (0, 0), (-1, 1), _SHADE),
        ("GRID", (0, 0), (-1, -1), 0.4, _GRID),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ALIGN", (3, 2), (-1, -1), "RIGHT"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        *[("SPAN", (column, 0), (column, 1)) for column in range(6)],
        *[("SPAN", (6 + 2 * i, 0), (7 + 2 * i, 0)) for i in range(len(taxes))],
        ("ALIGN", (6, 0), (-1, 1), "CENTER"),
    ]
    return Table(rows, colWidths=widths, repeatRows=2, splitInRow=1, style=style)


def _taxes(document: Document) -> list[str]:
    """CGST and SGST within the state, IGST across; both only for a document that somehow mixes them."""
    lines, totals = document.lines, document.totals
    igst = totals.igst or any(line.igst or line.igst_rate for line in lines)
    split = totals.cgst or totals.sgst or any(line.cgst or line.sgst or line.cgst_rate or line.sgst_rate for line in lines)
    return ["CGST", "SGST", "IGST"] if split and igst else ["IGST"] if igst else ["CGST", "SGST"]


def _tax(line: Line, name: str, currency: str) -> list[str]:
    rate, amount = {
        "CGST": (line.cgst_rate, line.cgst),
        "SGST": (line.sgst_rate, line.sgst),
        "IGST": (line.igst_rate, line.igst),
    }[name]
    return [_rate(rate), _amount(amount, currency)]


def _totals(document: Document, look: _Look) -> Table:
    totals = document.totals
    taxes = {"CGST": totals.cgst, "SGST": totals.sgst, "IGST": totals.igst}
    rows = [("Taxable value", totals.taxable_value), *[(name, taxes[name]) for name in _taxes(document)]]
    rows.append(("Total", totals.total))
    symbol = _symbol(document.currency, look)
    cells = [[name, f"{symbol} {_amount(value, document.currency)}"] for name, value in rows]
    last = len(cells) - 1
    return Table(
        cells,
        colWidths=[34 * mm, 36 * mm],
        hAlign="RIGHT",
        style=[
            ("FONT", (0, 0), (-1, -1), look.regular, 9),
            ("FONT", (0, last), (-1, last), look.bold, 10),
            ("ALIGN", (1, 0), (1, -1), "RIGHT"),
            ("LINEABOVE", (0, last), (-1, last), 0.8, colors.black),
        ],
    )


def _payment(document: Document, look: _Look) -> Table:
    payment = document.payment
    assert payment is not None
    facts = [
        ("Method", METHODS.get(payment.method, payment.method)),
        ("Reference / UTR", payment.reference),
        ("Paid on", _date_text(payment.paid_on.year, payment.paid_on.month, payment.paid_on.day)),
    ]
    facts += [(name, value) for name, value in (("Provider", payment.provider), ("Bank", payment.bank)) if value]
    status = "PAID" if document.status == "paid" else "DUE"
    rows: list[list[Any]] = [[Paragraph(f"<b>Payment details</b> — {status}", look.body), ""]]
    rows += [[Paragraph(f"<b>{name}</b>", look.body), Paragraph(_text(value), look.body)] for name, value in facts]
    return Table(
        rows,
        colWidths=[34 * mm, WIDTH - 34 * mm],
        hAlign="LEFT",
        style=[
            ("SPAN", (0, 0), (-1, 0)),
            ("BACKGROUND", (0, 0), (-1, 0), _SHADE),
            ("BOX", (0, 0), (-1, -1), 0.5, _GRID),
            ("TOPPADDING", (0, 0), (-1, -1), 1.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ],
    )


def _amount(amount: Decimal, currency: str) -> str:
    """1,23,456.78 for rupees (lakh and crore grouping); 123,456.78 for anything else."""
    text = format(amount.quantize(Decimal("0.01")), "f")
    if currency != "INR":
        return format(Decimal(text), ",.2f")
    whole, _, fraction = text.partition(".")
    head, tail = whole[:-3], whole[-3:]
    groups = []
    while len(head) > 2:
        head, group = head[:-2], head[-2:]
        groups.insert(0, group)
    return ",".join([g for g in [head, *groups] if g] + [tail]) + "." + fraction


def _rate(rate: Decimal) -> str:
    text = format(rate.normalize(), "f") if rate else "0"
    return f"{text}%"


def _symbol(currency: str, look: _Look) -> str:
    return look.rupee if currency == "INR" else currency


def _date(document: Document) -> str:
    issued = document.issued_on
    return _date_text(issued.year, issued.month, issued.day)


def _date_text(year: int, month: int, day: int) -> str:
    # Spelled out without the locale: 28 Nov 2026 reads the same everywhere and never as 11/28.
    return f"{day:02d} {_MONTHS[month - 1]} {year}"


def _text(value: str) -> str:
    """User text inside Paragraph markup: escaped, line breaks kept."""
    return "<br/>".join(escape(part) for part in value.splitlines()) if value else ""


def _boxless() -> list[tuple[Any, ...]]:
    return [("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]


def _numbered_canvas(decorate: Any) -> type[Canvas]:
    """A canvas that holds its pages back until the end, so each can say "Page 2 of 3"."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 (reportlab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            for page in self._pages:
                self.__dict__.update(page)
                decorate(self, len(self._pages))
                super().showPage()
            super().save()

    return NumberedCanvas


@cache
def _look() -> _Look:
    regular, bold, rupee = _fonts()
    body = ParagraphStyle("body", fontName=regular, fontSize=9, leading=11.5)
    return _Look(
        regular=regular,
        bold=bold,
        rupee=rupee,
        body=body,
        small=ParagraphStyle("small", parent=body, fontSize=7.5, leading=9.5),
        cell=ParagraphStyle("cell", parent=body, fontSize=8, leading=10),
        heading=ParagraphStyle("heading", parent=body, fontSize=13, leading=16),
        title=ParagraphStyle("title", parent=body, fontName=bold, fontSize=16, leading=20, alignment=TA_RIGHT),
        right=ParagraphStyle("right", parent=body, fontSize=7.5, leading=9.5, alignment=TA_RIGHT),
    )


def _fonts() -> tuple[str, str, str]:
    """DejaVu Sans (with ₹) when installed, else Helvetica (without)."""
    for folder in map(Path, FONT_DIRS):
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            pdfmetrics.registerFont(TTFont("DejaVuSans", str(regular)))
            pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(bold)))
            pdfmetrics.registerFontFamily("DejaVuSans", normal="DejaVuSans", bold="DejaVuSans-Bold")
            return "DejaVuSans", "DejaVuSans-Bold", "₹"
    return "Helvetica", "Helvetica-Bold", "INR"


