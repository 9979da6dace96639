"""Invoice PDFs per second: reportlab (render_pdf) against headless Chromium printing the same invoice as HTML.

Run from the repository root: `uv run python -m bench.invoicing.run` (see bench/README.md, section invoicing).
"""
