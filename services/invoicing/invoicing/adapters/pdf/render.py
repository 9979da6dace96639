"""A Document printed as an A4 PDF (GST Rule 46 shape) with reportlab's platypus.

A pure function of the Document: the same document gives byte-identical bytes
(`invariant=True`: fixed creation date and file id, no clock), so the stored copy
and its ETag never change under a re-render. It is CPU work: the service calls it
through `asyncio.to_thread`.

Speed: every cell is a plain string wrapped with the font's metrics (`cells.py`)
instead of a platypus Paragraph, and each font subset is built once per set of
characters instead of once per document (`fonts.py`); figures in
docs/decisions.md, section "Invoicing".
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, SimpleDocTemplate, Spacer

from invoicing.adapters.pdf.cells import Cells
from invoicing.adapters.pdf.fonts import Fonts, load_fonts
from invoicing.adapters.pdf.layout import EDGE, GREY, MARGIN, WIDTH
from invoicing.adapters.pdf.sections import heading_table, items_table, parties_table, payment_table, totals_table
from invoicing.adapters.pdf.text import day_text
from invoicing.domain.document import Document


def render_pdf(document: Document) -> bytes:
    """The document as PDF bytes: one A4 page for a typical invoice, more as lines require."""
    fonts = load_fonts()
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
        subject=f"{document.title} {document.number} of {day_text(document.issued_on)}",
        creator="Tollgate invoicing",
    )
    footer = f"{document.title} {document.number}"

    def number_page(canvas: Canvas, pages: int) -> None:
        canvas.setFont(fonts.regular, 7.5)
        canvas.setFillColor(GREY)
        canvas.drawString(EDGE, MARGIN, "Computer-generated document; no signature required.")
        canvas.drawRightString(A4[0] - EDGE, MARGIN, f"{footer} · Page {canvas.getPageNumber()} of {pages}")

    pdf.build(_story(document, fonts), canvasmaker=_numbered_canvas(number_page))
    return out.getvalue()


def _story(document: Document, fonts: Fonts) -> list[Flowable]:
    story: list[Flowable] = [heading_table(document, fonts), Spacer(0, 4 * mm), parties_table(document, fonts)]
    story += [Spacer(0, 5 * mm), items_table(document, fonts), Spacer(0, 3 * mm)]
    words = Cells(fonts, [34 * mm, WIDTH - 34 * mm], size=9)
    words.row(["Total in words:", document.total_in_words], bold=True)
    words.style += [("FONT", (1, 0), (1, 0), fonts.regular, 9)]
    summary: list[Flowable] = [totals_table(document, fonts), Spacer(0, 2 * mm), words.table()]
    if document.payment is not None:
        summary += [Spacer(0, 5 * mm), payment_table(document, fonts)]
    story.append(KeepTogether(summary))  # totals, words and payment on one page
    if document.notes:
        notes = Cells(fonts, [WIDTH], size=7.5)
        for note in document.notes:
            notes.row([note])
        story += [Spacer(0, 3 * mm), notes.table()]
    return story


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
