"""The sections of a printed document, top to bottom: heading, parties, lines, totals, payment."""

from __future__ import annotations

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Table

from invoicing.adapters.pdf.cells import Cells
from invoicing.adapters.pdf.fonts import Fonts
from invoicing.adapters.pdf.layout import GRID, PAD, SHADE, STAMP, WIDTH
from invoicing.adapters.pdf.text import METHODS, currency_symbol, day_text, format_amount, percent, wrap
from invoicing.domain.document import Document, DocumentKind, Line, Party, tax_columns


def heading_table(document: Document, fonts: Fonts) -> Table:
    """Seller on the left; title, copy and the PAID/DUE stamp on the right (one flat table: cheaper)."""
    stamp, colour = STAMP[document.status]
    cells = Cells(fonts, [WIDTH - 62 * mm, 34 * mm, 28 * mm], size=9)
    left = [wrap(document.seller.name, fonts.bold, 13, cells.widths[0] - 2 * PAD)]
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


def parties_table(document: Document, fonts: Fonts) -> Table:
    """The buyer on the left; number, date, order and place of supply on the right, boxed."""
    cells = Cells(fonts, [WIDTH * 0.55, 30 * mm, WIDTH * 0.45 - 30 * mm], size=9)
    width = cells.widths[0] - 2 * PAD
    left = ["Bill to", wrap(document.buyer.name, fonts.bold, 9, width)]
    left += _party_lines(document.buyer, fonts, width, unregistered="Unregistered")
    facts = [("Invoice No.:" if document.kind == DocumentKind.INVOICE else "Voucher No.:", document.number)]
    facts.append(("Date:", day_text(document.issued_on)))
    if document.order_id:
        facts.append(("Order ID:", document.order_id))
    facts.append(("Place of supply:", document.place_of_supply))
    for n in range(max(len(left), len(facts))):
        label, value = facts[n] if n < len(facts) else ("", "")
        value = wrap(value, fonts.regular, 9, cells.widths[2] - 2 * PAD)
        cells.rows.append([left[n] if n < len(left) else "", label, value])
    cells.style += [
        ("FONT", (0, 0), (0, 0), fonts.bold, 7.5),
        ("FONT", (0, 1), (0, 1), fonts.bold, 9, 11.25),
        ("FONT", (1, 0), (1, -1), fonts.bold, 9, 11.25),
        ("BOX", (0, 0), (-1, -1), 0.5, GRID),
        ("LINEAFTER", (0, 0), (0, -1), 0.5, GRID),
    ]
    return cells.table()


def _party_lines(party: Party, fonts: Fonts, width: float, unregistered: str | None = None) -> list[str]:
    lines = [wrap(party.address, fonts.regular, 9, width)] if party.address.strip() else []
    lines.append(f"State: {party.state} (Code {party.state_code})" if party.state_code else f"State: {party.state}")
    if party.gstin or unregistered:
        lines.append(f"GSTIN: {party.gstin or unregistered}")
    return lines


def items_table(document: Document, fonts: Fonts) -> Table:
    taxes = tax_columns(document)
    money = f"({currency_symbol(document.currency, fonts)})"
    fixed = [9 * mm, 14 * mm, 9 * mm, 21 * mm, 22 * mm] + [10 * mm, 20 * mm] * len(taxes)
    items = Cells(fonts, [fixed[0], WIDTH - sum(fixed), *fixed[1:]], size=8)
    header = ["#", "Description", "SAC", "Qty", f"Unit price {money}", f"Taxable value {money}"]
    items.row([*header, *[cell for name in taxes for cell in (name, "")]], bold=True, size=7.5)
    items.row([""] * 6 + ["Rate", "Amount"] * len(taxes), bold=True, size=7.5)
    for number, line in enumerate(document.lines, start=1):
        row = [str(number), line.description, line.sac, str(line.quantity)]
        row += [format_amount(line.unit_price, document.currency), format_amount(line.taxable_value, document.currency)]
        items.row(row + [cell for name in taxes for cell in _tax_cells(line, name, document.currency)])
    items.style += [
        ("BACKGROUND", (0, 0), (-1, 1), SHADE),
        ("GRID", (0, 0), (-1, -1), 0.4, GRID),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("ALIGN", (3, 0), (-1, -1), "RIGHT"),
        ("ALIGN", (6, 0), (-1, 1), "CENTER"),
        *[("SPAN", (column, 0), (column, 1)) for column in range(6)],
        *[("SPAN", (6 + 2 * i, 0), (7 + 2 * i, 0)) for i in range(len(taxes))],
    ]
    return items.table(repeatRows=2, splitInRow=1)


def _tax_cells(line: Line, name: str, currency: str) -> list[str]:
    rate, amount = {
        "CGST": (line.cgst_rate, line.cgst),
        "SGST": (line.sgst_rate, line.sgst),
        "IGST": (line.igst_rate, line.igst),
    }[name]
    return [percent(rate), format_amount(amount, currency)]


def totals_table(document: Document, fonts: Fonts) -> Table:
    totals, symbol = document.totals, currency_symbol(document.currency, fonts)
    taxes = {"CGST": totals.cgst, "SGST": totals.sgst, "IGST": totals.igst}
    cells = Cells(fonts, [34 * mm, 38 * mm], size=9)
    shown = [("Taxable value", totals.taxable_value), *[(name, taxes[name]) for name in tax_columns(document)]]
    for name, value in shown:
        cells.row([name, f"{symbol} {format_amount(value, document.currency)}"])
    cells.row(["Total", f"{symbol} {format_amount(totals.total, document.currency)}"], bold=True, size=10)
    cells.style += [("ALIGN", (1, 0), (1, -1), "RIGHT"), ("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black)]
    return cells.table(hAlign="RIGHT")


def payment_table(document: Document, fonts: Fonts) -> Table:
    payment = document.payment
    assert payment is not None
    cells = Cells(fonts, [34 * mm, WIDTH - 34 * mm], size=9)
    cells.row([f"Payment details — {STAMP[document.status][0]}"], bold=True, span=True)
    cells.row(["Method", METHODS.get(payment.method, payment.method)])
    cells.row(["Reference / UTR", payment.reference])
    cells.row(["Paid on", day_text(payment.paid_on)])
    for name, value in (("Provider", payment.provider), ("Bank", payment.bank)):
        if value:
            cells.row([name, value])
    cells.style += [
        ("BACKGROUND", (0, 0), (-1, 0), SHADE),
        ("BOX", (0, 0), (-1, -1), 0.5, GRID),
        ("FONT", (0, 1), (0, -1), fonts.bold, 9),
    ]
    return cells.table(hAlign="LEFT")
