"""A Document printed as an A4 PDF (GST Rule 46 shape) with reportlab's platypus.

A pure function of the Document: the same document gives byte-identical bytes
(`invariant=True`: fixed creation date and file id, no clock), so the stored copy
and its ETag never change under a re-render. It is CPU work: the service calls it
through `asyncio.to_thread`.

Text is drawn in DejaVu Sans, embedded (subset) with a ToUnicode map, so every
word is extractable and the rupee sign prints (DESIGN.md §9; the Docker image
installs `fonts-dejavu-core`). Where the font is missing (a bare development
machine) it falls back to the standard Helvetica, which has no rupee sign:
amounts then carry "INR" instead of "₹".

Speed: every cell is a plain string wrapped here with the font's metrics, in
tables, instead of platypus Paragraphs (markup parsing and line breaking cost
several times more), and each font subset is built once per set of characters
instead of once per document. See bench/README.md, section "invoicing".
"""

from __future__ import annotations

import contextlib
import io
import zlib
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, SimpleDocTemplate, Spacer, Table

from invoicing.domain.document import Document, Line, Party

FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",  # Debian, Ubuntu (fonts-dejavu-core)
    "/usr/share/fonts/dejavu",  # Fedora, Alpine
    "/usr/share/fonts/TTF",  # Arch
    "/usr/local/share/fonts",
)
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
MARGIN = 12 * mm
EDGE = MARGIN + 6  # reportlab's frame pads its content by 6 points
WIDTH = A4[0] - 2 * EDGE
PAD = 3  # points of padding left and right of every cell
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_GRID = colors.Color(0.6, 0.6, 0.6)
_SHADE = colors.Color(0.93, 0.93, 0.93)
_GREY = colors.Color(0.35, 0.35, 0.35)
_STAMP = {"paid": ("PAID", colors.Color(0.0, 0.45, 0.2)), "due": ("DUE", colors.Color(0.75, 0.1, 0.1))}


class _Fonts(NamedTuple):
    regular: str
    bold: str
    rupee: str  # what goes before an INR amount


def render_pdf(document: Document) -> bytes:
    """The document as PDF bytes: one A4 page for a typical invoice, more as lines require."""
    fonts = _fonts()
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

    def number_page(canvas: Canvas, pages: int) -> None:
        canvas.setFont(fonts.regular, 7.5)
        canvas.setFillColor(_GREY)
        canvas.drawString(EDGE, MARGIN, "Computer-generated document; no signature required.")
        canvas.drawRightString(A4[0] - EDGE, MARGIN, f"{footer} · Page {canvas.getPageNumber()} of {pages}")

    pdf.build(_story(document, fonts), canvasmaker=_numbered_canvas(number_page))
    return out.getvalue()


def _story(document: Document, fonts: _Fonts) -> list[Flowable]:
    story: list[Flowable] = [_heading(document, fonts), Spacer(0, 4 * mm), _parties(document, fonts)]
    story += [Spacer(0, 5 * mm), _items(document, fonts), Spacer(0, 3 * mm)]
    words = _Cells(fonts, [34 * mm, WIDTH - 34 * mm], size=9)
    words.row(["Total in words:", document.total_in_words], bold=True)
    words.style += [("FONT", (1, 0), (1, 0), fonts.regular, 9)]
    summary: list[Flowable] = [_totals(document, fonts), Spacer(0, 2 * mm), words.table()]
    if document.payment is not None:
        summary += [Spacer(0, 5 * mm), _payment(document, fonts)]
    story.append(KeepTogether(summary))  # totals, words and payment on one page
    if document.notes:
        notes = _Cells(fonts, [WIDTH], size=7.5)
        for note in document.notes:
            notes.row([note])
        story += [Spacer(0, 3 * mm), notes.table()]
    return story


class _Cells:
    """A table of plain strings, wrapped to their columns, with a style per row."""

    def __init__(self, fonts: _Fonts, widths: list[float], *, size: float) -> None:
        self.fonts, self.widths, self.size = fonts, widths, size
        self.rows: list[list[Any]] = []
        self.style: list[tuple[Any, ...]] = [
            ("FONT", (0, 0), (-1, -1), fonts.regular, size, size * 1.25),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), PAD),
            ("RIGHTPADDING", (0, 0), (-1, -1), PAD),
            ("TOPPADDING", (0, 0), (-1, -1), 1),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ]

    def row(self, cells: list[Any], *, bold: bool = False, size: float | None = None, span: bool = False) -> None:
        """Add a row; `span`: one cell across every column."""
        size = size or self.size
        font = self.fonts.bold if bold else self.fonts.regular
        n = len(self.rows)
        if bold or size != self.size:
            self.style.append(("FONT", (0, n), (-1, n), font, size, size * 1.25))
        widths = [sum(self.widths)] if span else self.widths
        wrapped = [
            _wrap(cell, font, size, width - 2 * PAD) if isinstance(cell, str) else cell
            for cell, width in zip(cells, widths, strict=True)
        ]
        if span:
            self.style.append(("SPAN", (0, n), (-1, n)))
            wrapped += [""] * (len(self.widths) - 1)
        self.rows.append(wrapped)

    def table(self, **options: Any) -> Table:
        # An empty flowable list draws nothing; an empty string still costs a text object.
        rows = [[() if cell == "" else cell for cell in row] for row in self.rows]
        return Table(rows, colWidths=self.widths, style=self.style, **options)


def _heading(document: Document, fonts: _Fonts) -> Table:
    """Seller on the left; title, copy and the PAID/DUE stamp on the right (one flat table: cheaper)."""
    stamp, colour = _STAMP[document.status]
    cells = _Cells(fonts, [WIDTH - 62 * mm, 34 * mm, 28 * mm], size=9)
    left = [_wrap(document.seller.name, fonts.bold, 13, cells.widths[0] - 2 * PAD)]
    left += _party_lines(document.seller, fonts, cells.widths[0] - 2 * PAD)
    right = [[document.title, ""], ["Original for recipient", ""], ["", stamp]]
    for n in range(max(len(left), len(right))):
        cells.rows.append([left[n] if n < len(left) else "", *(right[n] if n < len(right) else ["", ""])])
    cells.style += [
        ("FONT", (0, 0), (0, 0), fonts.bold, 13, 16),
        ("FONT", (1, 0), (1, 0), fonts.bold, 16, 19),
        ("FONT", (1, 1), (1, 1), fonts.regular, 7.5),
        ("SPAN", (1, 0), (2, 0)),
        ("SPAN", (1, 1), (2, 1)),
        ("ALIGN", (1, 0), (2, -1), "RIGHT"),
        ("FONT", (2, 2), (2, 2), fonts.bold, 13, 16),
        ("TEXTCOLOR", (2, 2), (2, 2), colour),
        ("BOX", (2, 2), (2, 2), 1.5, colour),
        ("ALIGN", (2, 2), (2, 2), "CENTER"),
        ("VALIGN", (2, 2), (2, 2), "MIDDLE"),
        ("TOPPADDING", (2, 2), (2, 2), 2),
        ("BOTTOMPADDING", (2, 2), (2, 2), 2),
    ]
    return cells.table()


def _parties(document: Document, fonts: _Fonts) -> Table:
    """The buyer on the left; number, date, order and place of supply on the right, boxed."""
    cells = _Cells(fonts, [WIDTH * 0.55, 30 * mm, WIDTH * 0.45 - 30 * mm], size=9)
    width = cells.widths[0] - 2 * PAD
    left = ["Bill to", _wrap(document.buyer.name, fonts.bold, 9, width)]
    left += _party_lines(document.buyer, fonts, width, unregistered="Unregistered")
    facts = [("Invoice No.:" if document.kind == "invoice" else "Voucher No.:", document.number)]
    facts.append(("Date:", _date(document)))
    if document.order_id:
        facts.append(("Order ID:", document.order_id))
    facts.append(("Place of supply:", document.place_of_supply))
    for n in range(max(len(left), len(facts))):
        label, value = facts[n] if n < len(facts) else ("", "")
        value = _wrap(value, fonts.regular, 9, cells.widths[2] - 2 * PAD)
        cells.rows.append([left[n] if n < len(left) else "", label, value])
    cells.style += [
        ("FONT", (0, 0), (0, 0), fonts.bold, 7.5),
        ("FONT", (0, 1), (0, 1), fonts.bold, 9, 11.25),
        ("FONT", (1, 0), (1, -1), fonts.bold, 9, 11.25),
        ("BOX", (0, 0), (-1, -1), 0.5, _GRID),
        ("LINEAFTER", (0, 0), (0, -1), 0.5, _GRID),
    ]
    return cells.table()


def _party_lines(party: Party, fonts: _Fonts, width: float, unregistered: str | None = None) -> list[str]:
    lines = [_wrap(party.address, fonts.regular, 9, width)] if party.address.strip() else []
    lines.append(f"State: {party.state} (Code {party.state_code})" if party.state_code else f"State: {party.state}")
    if party.gstin or unregistered:
        lines.append(f"GSTIN: {party.gstin or unregistered}")
    return lines


def _items(document: Document, fonts: _Fonts) -> Table:
    taxes = _taxes(document)
    money = f"({_symbol(document.currency, fonts)})"
    fixed = [9 * mm, 14 * mm, 9 * mm, 21 * mm, 22 * mm] + [10 * mm, 20 * mm] * len(taxes)
    items = _Cells(fonts, [fixed[0], WIDTH - sum(fixed), *fixed[1:]], size=8)
    header = ["#", "Description", "SAC", "Qty", f"Unit price {money}", f"Taxable value {money}"]
    items.row([*header, *[cell for name in taxes for cell in (name, "")]], bold=True, size=7.5)
    items.row([""] * 6 + ["Rate", "Amount"] * len(taxes), bold=True, size=7.5)
    for number, line in enumerate(document.lines, start=1):
        row = [str(number), line.description, line.sac, str(line.quantity)]
        row += [format_amount(line.unit_price, document.currency), format_amount(line.taxable_value, document.currency)]
        items.row(row + [cell for name in taxes for cell in _tax(line, name, document.currency)])
    items.style += [
        ("BACKGROUND", (0, 0), (-1, 1), _SHADE),
        ("GRID", (0, 0), (-1, -1), 0.4, _GRID),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("ALIGN", (3, 0), (-1, -1), "RIGHT"),
        ("ALIGN", (6, 0), (-1, 1), "CENTER"),
        *[("SPAN", (column, 0), (column, 1)) for column in range(6)],
        *[("SPAN", (6 + 2 * i, 0), (7 + 2 * i, 0)) for i in range(len(taxes))],
    ]
    return items.table(repeatRows=2, splitInRow=1)


def _taxes(document: Document) -> list[str]:
    """CGST and SGST within the state, IGST across; all three only for a document that mixes them."""
    lines, totals = document.lines, document.totals
    igst = totals.igst or any(line.igst_rate for line in lines)
    split = totals.cgst or totals.sgst or any(line.cgst_rate or line.sgst_rate for line in lines)
    return ["CGST", "SGST", "IGST"] if split and igst else ["IGST"] if igst else ["CGST", "SGST"]


def _tax(line: Line, name: str, currency: str) -> list[str]:
    rate, amount = {
        "CGST": (line.cgst_rate, line.cgst),
        "SGST": (line.sgst_rate, line.sgst),
        "IGST": (line.igst_rate, line.igst),
    }[name]
    return [_rate(rate), format_amount(amount, currency)]


def _totals(document: Document, fonts: _Fonts) -> Table:
    totals, symbol = document.totals, _symbol(document.currency, fonts)
    taxes = {"CGST": totals.cgst, "SGST": totals.sgst, "IGST": totals.igst}
    cells = _Cells(fonts, [34 * mm, 38 * mm], size=9)
    for name, value in [("Taxable value", totals.taxable_value), *[(name, taxes[name]) for name in _taxes(document)]]:
        cells.row([name, f"{symbol} {format_amount(value, document.currency)}"])
    cells.row(["Total", f"{symbol} {format_amount(totals.total, document.currency)}"], bold=True, size=10)
    cells.style += [("ALIGN", (1, 0), (1, -1), "RIGHT"), ("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black)]
    return cells.table(hAlign="RIGHT")


def _payment(document: Document, fonts: _Fonts) -> Table:
    payment = document.payment
    assert payment is not None
    cells = _Cells(fonts, [34 * mm, WIDTH - 34 * mm], size=9)
    cells.row([f"Payment details — {_STAMP[document.status][0]}"], bold=True, span=True)
    cells.row(["Method", METHODS.get(payment.method, payment.method)])
    cells.row(["Reference / UTR", payment.reference])
    cells.row(["Paid on", _day(payment.paid_on)])
    for name, value in (("Provider", payment.provider), ("Bank", payment.bank)):
        if value:
            cells.row([name, value])
    cells.style += [
        ("BACKGROUND", (0, 0), (-1, 0), _SHADE),
        ("BOX", (0, 0), (-1, -1), 0.5, _GRID),
        ("FONT", (0, 1), (0, -1), fonts.bold, 9),
    ]
    return cells.table(hAlign="LEFT")


def format_amount(amount: Decimal, currency: str) -> str:
    """1,23,456.78 for rupees (lakh and crore grouping); 123,456.78 for anything else."""
    text = format(amount.quantize(Decimal("0.01")), "f")
    if currency != "INR":
        return format(Decimal(text), ",.2f")
    whole, _, fraction = text.partition(".")
    head, groups = whole[:-3], [whole[-3:]]
    while head:
        head, group = head[:-2], head[-2:]
        groups.insert(0, group)
    return ",".join(groups) + "." + fraction


def _rate(rate: Decimal) -> str:
    return f"{format(rate.normalize(), 'f') if rate else '0'}%"


def _symbol(currency: str, fonts: _Fonts) -> str:
    return fonts.rupee if currency == "INR" else currency


def _date(document: Document) -> str:
    return _day(document.issued_on)


def _day(day: date) -> str:
    # Spelled out without the locale: 28 Nov 2026 reads the same everywhere and never as 11/28.
    return f"{day.day:02d} {_MONTHS[day.month - 1]} {day.year}"


def _wrap(text: str, font: str, size: float, width: float) -> str:
    """The text broken into lines that fit the width; a word too long for a line is cut."""
    if "\n" not in text and pdfmetrics.stringWidth(text, font, size) <= width:
        return text  # most cells: one measurement
    space = pdfmetrics.stringWidth(" ", font, size)
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line: list[str] = []
        used = 0.0
        for word in paragraph.split():
            needed = pdfmetrics.stringWidth(word, font, size)
            if line and used + space + needed <= width:
                line.append(word)
                used += space + needed
                continue
            if line:
                lines.append(" ".join(line))
            while needed > width and len(word) > 1:
                cut = _fitting(word, font, size, width)
                lines.append(word[:cut])
                word = word[cut:]
                needed = pdfmetrics.stringWidth(word, font, size)
            line, used = [word], needed
        lines.append(" ".join(line))
    return "\n".join(lines)


def _fitting(word: str, font: str, size: float, width: float) -> int:
    """How many leading characters of the word fit the width (at least one)."""
    low, high = 1, len(word)
    while low < high:
        middle = (low + high + 1) // 2
        if pdfmetrics.stringWidth(word[:middle], font, size) <= width:
            low = middle
        else:
            high = middle - 1
    return low


def _numbered_canvas(decorate: Callable[[Canvas, int], None]) -> type[Canvas]:
    """A canvas that holds its pages back until the end, so each can say "Page 2 of 3"."""

    class NumberedCanvas(Canvas):  # type: ignore[misc]  # reportlab has no type hints
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
def _fonts() -> _Fonts:
    """DejaVu Sans (with ₹) when installed, else Helvetica (without)."""
    # Page streams in binary Flate only: ASCII85 on top makes them 25 % larger and,
    # without reportlab's optional C accelerator, costs more than the compression.
    rl_config.useA85 = 0
    for folder in map(Path, FONT_DIRS):
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            _register("DejaVuSans", regular)
            _register("DejaVuSans-Bold", bold)
            return _Fonts("DejaVuSans", "DejaVuSans-Bold", "₹")
    return _Fonts("Helvetica", "Helvetica-Bold", "INR")


def _register(name: str, path: Path) -> None:
    font = TTFont(name, str(path))
    _reuse_font_programs(font)
    pdfmetrics.registerFont(font)


def _reuse_font_programs(font: TTFont) -> None:
    """Build and compress each font subset once, not once per document (a third of a render).

    A subset's program is a pure function of its characters, and invoices keep
    using the same few. reportlab builds it in `makeSubset` and compresses it when
    the file is written; the stream it registers is given the cached compressed
    bytes with their filter, which reportlab then leaves alone. The bytes are
    those reportlab would write (same zlib call), so renders stay identical.
    """
    face = font.face
    make_subset, add_subset_objects = face.makeSubset, face.addSubsetObjects

    @lru_cache(maxsize=32)
    def program(codes: tuple[int, ...]) -> tuple[bytes, bytes]:
        raw: bytes = make_subset(list(codes))
        return raw, zlib.compress(raw)

    def add_cached_subset_objects(doc: Any, fontname: str, subset: list[int]) -> Any:
        reference = add_subset_objects(doc, fontname, subset)
        if doc.compression:
            with contextlib.suppress(AttributeError, KeyError):  # another reportlab: compress as usual
                descriptor = doc.idToObject[reference.name]
                stream = doc.idToObject[descriptor.dict["FontFile2"].name]
                stream.content = program(tuple(subset))[1]
                stream.dictionary["Filter"] = pdfdoc.PDFArray([pdfdoc.PDFName("FlateDecode")])
        return reference

    face.makeSubset = lambda subset: program(tuple(subset))[0]
    face.addSubsetObjects = add_cached_subset_objects
