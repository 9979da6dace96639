"""The page's geometry and colours, shared by every section of a document."""

from __future__ import annotations

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

from invoicing.domain.document import DocumentStatus

MARGIN = 12 * mm
EDGE = MARGIN + 6  # reportlab's frame pads its content by 6 points
WIDTH = A4[0] - 2 * EDGE
PAD = 3  # points of padding left and right of every cell
GRID = colors.Color(0.6, 0.6, 0.6)
SHADE = colors.Color(0.93, 0.93, 0.93)
GREY = colors.Color(0.35, 0.35, 0.35)
STAMP = {
    DocumentStatus.PAID: ("PAID", colors.Color(0.0, 0.45, 0.2)),
    DocumentStatus.DUE: ("DUE", colors.Color(0.75, 0.1, 0.1)),
}
