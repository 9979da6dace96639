"""The QR code (the "barcode") an authenticator app scans, as an SVG document."""

from __future__ import annotations

import io

import segno


def qr_svg(text: str) -> str:
    """An SVG of the QR code of `text`: dark modules on white, with the quiet zone."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(
        buffer,
        kind="svg",
        scale=6,
        border=4,
        dark="#000",
        light="#fff",
        xmldecl=False,
        title="Scan with your authenticator app",
    )
    return buffer.getvalue().decode()
