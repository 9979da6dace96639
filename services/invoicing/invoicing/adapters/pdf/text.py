"""What a document prints as text: amounts, rates, dates, payment methods, and lines wrapped to a width."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from reportlab.pdfbase import pdfmetrics

from invoicing.adapters.pdf.fonts import Fonts

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
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


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


def percent(rate: Decimal) -> str:
    return f"{format(rate.normalize(), 'f') if rate else '0'}%"


def currency_symbol(currency: str, fonts: Fonts) -> str:
    return fonts.rupee if currency == "INR" else currency


def day_text(day: date) -> str:
    # Spelled out without the locale: 28 Nov 2026 reads the same everywhere and never as 11/28.
    return f"{day.day:02d} {_MONTHS[day.month - 1]} {day.year}"


def wrap(text: str, font: str, size: float, width: float) -> str:
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
