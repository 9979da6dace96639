"""Tables of plain strings wrapped with the font's metrics: cheaper than platypus Paragraphs."""

from __future__ import annotations

from typing import Any

from reportlab.platypus import Table

from invoicing.adapters.pdf.fonts import Fonts
from invoicing.adapters.pdf.layout import PAD
from invoicing.adapters.pdf.text import wrap


class Cells:
    """A table of plain strings, wrapped to their columns, with a style per row."""

    def __init__(self, fonts: Fonts, widths: list[float], *, size: float) -> None:
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
            wrap(cell, font, size, width - 2 * PAD) if isinstance(cell, str) else cell
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
