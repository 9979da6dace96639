"""Documents printed as PDFs with reportlab: `render.render_pdf` is the entry point."""
