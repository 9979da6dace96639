"""Document numbers: one gapless series per kind and financial year (April to March)."""

from __future__ import annotations

from datetime import date

MAX_SEQUENCE = 999_999  # six digits keep PREFIX/YY-YY/NNNNNN within GST's 16 characters


class SeriesExhausted(RuntimeError):
    """A series ran out of six-digit numbers (a new prefix is needed)."""


def financial_year(day: date) -> str:
    """India's financial year of `day`: 2026-11-28 → "26-27", 2027-03-31 → "26-27", 2027-04-01 → "27-28"."""
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start % 100:02d}-{(start + 1) % 100:02d}"


def document_number(prefix: str, year: str, sequence: int) -> str:
    if not 1 <= sequence <= MAX_SEQUENCE:
        raise SeriesExhausted(f"{prefix}/{year} has no number {sequence}")
    return f"{prefix}/{year}/{sequence:06d}"
