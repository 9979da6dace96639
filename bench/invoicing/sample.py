"""The typical invoice of the benchmark, as a Document for render_pdf and as the equivalent HTML page.

Four certificate lines, an intra-state buyer (CGST + SGST), paid online: what
most invoices of the platform look like. The HTML is what an HTML-template
billing system would print: the same sections and the same text, laid out with
CSS for A4, in the same font (DejaVu Sans, from the system's fonts).
"""

from __future__ import annotations

from decimal import Decimal
from html import escape

from invoicing.adapters.pdf.text import METHODS, format_amount
from invoicing.domain.document import Document
from tests.support.invoice_documents import KARNATAKA_BUYER, tax_invoice

# The buyer of most of the platform's invoices: a business in the seller's state
# (CGST + SGST), with a plain name (the tests' has characters HTML must escape).
TYPICAL_BUYER = KARNATAKA_BUYER.model_copy(update={"name": "Bangalore Widgets Private Limited"})


def typical_invoice() -> Document:
    """The tests' tax invoice (`tests.support.invoice_documents`): four certificate lines, paid online."""
    return tax_invoice(TYPICAL_BUYER)


_CSS = """
@page { size: A4; margin: 14mm 14mm 20mm 14mm; }
body { font-family: "DejaVu Sans", sans-serif; font-size: 9pt; margin: 0; }
.head { display: flex; justify-content: space-between; }
.seller b { font-size: 13pt; }
h1 { font-size: 16pt; margin: 0; text-align: right; }
.original { font-size: 7.5pt; text-align: right; }
.stamp { float: right; border: 1.5pt solid #007333; color: #007333; font-weight: bold; font-size: 13pt;
         width: 28mm; text-align: center; margin-top: 2mm; }
.parties { display: flex; border: 0.5pt solid #999; margin-top: 4mm; }
.parties > div { padding: 3pt; }
.buyer { width: 55%; border-right: 0.5pt solid #999; }
table { border-collapse: collapse; width: 100%; }
.items { margin-top: 5mm; font-size: 8pt; }
.items th { background: #eee; font-size: 7.5pt; }
.items th, .items td { border: 0.4pt solid #999; padding: 2pt 3pt 3pt 3pt; vertical-align: top; }
.num { text-align: right; }
thead { display: table-header-group; }
.totals { width: 72mm; margin: 3mm 0 0 auto; font-size: 9pt; }
.totals td:last-child { text-align: right; }
.totals tr.total td { font-weight: bold; font-size: 10pt; border-top: 0.8pt solid #000; }
.words { margin-top: 2mm; }
.payment { margin-top: 5mm; border: 0.5pt solid #999; }
.payment th { background: #eee; text-align: left; }
.payment td:first-child { font-weight: bold; width: 34mm; }
footer { position: fixed; bottom: 0; left: 0; right: 0; font-size: 7.5pt; color: #595959; }
"""


def invoice_html(document: Document) -> str:
    """The same invoice as an HTML page, the way HTML-template billing systems write it."""
    e = escape

    def money(value: Decimal) -> str:
        return str(format_amount(value, document.currency))

    seller, buyer, payment = document.seller, document.buyer, document.payment
    rows = "".join(
        f"<tr><td>{n}</td><td>{e(line.description)}</td><td>{line.sac}</td><td class=num>{line.quantity}</td>"
        f"<td class=num>{money(line.unit_price)}</td><td class=num>{money(line.taxable_value)}</td>"
        f"<td class=num>{line.cgst_rate}%</td><td class=num>{money(line.cgst)}</td>"
        f"<td class=num>{line.sgst_rate}%</td><td class=num>{money(line.sgst)}</td></tr>"
        for n, line in enumerate(document.lines, start=1)
    )
    totals = document.totals
    payment_rows = (
        "<table class=payment><tr><th colspan=2>Payment details — PAID</th></tr>"
        f"<tr><td>Method</td><td>{e(METHODS.get(payment.method, payment.method))}</td></tr>"
        f"<tr><td>Reference / UTR</td><td>{e(payment.reference)}</td></tr>"
        f"<tr><td>Paid on</td><td>{payment.paid_on:%d %b %Y}</td></tr>"
        f"<tr><td>Provider</td><td>{e(payment.provider or '')}</td></tr></table>"
        if payment
        else ""
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(document.title)} {e(document.number)}</title>
<style>{_CSS}</style></head><body>
<div class=head><div class=seller><b>{e(seller.name)}</b><br>{e(seller.address)}<br>
State: {e(seller.state)} (Code {seller.state_code})<br>GSTIN: {e(seller.gstin or "")}</div>
<div><h1>{e(document.title)}</h1><div class=original>Original for recipient</div><div class=stamp>PAID</div></div></div>
<div class=parties><div class=buyer><b>Bill to</b><br><b>{e(buyer.name)}</b><br>{e(buyer.address)}<br>
State: {e(buyer.state)} (Code {buyer.state_code})<br>GSTIN: {e(buyer.gstin or "Unregistered")}</div>
<div><b>Invoice No.:</b> {e(document.number)}<br><b>Date:</b> {document.issued_on:%d %b %Y}<br>
<b>Order ID:</b> {e(document.order_id or "")}<br><b>Place of supply:</b> {e(document.place_of_supply)}</div></div>
<table class=items><thead><tr><th rowspan=2>#</th><th rowspan=2>Description</th><th rowspan=2>SAC</th>
<th rowspan=2>Qty</th><th rowspan=2>Unit price (₹)</th><th rowspan=2>Taxable value (₹)</th>
<th colspan=2>CGST</th><th colspan=2>SGST</th></tr>
<tr><th>Rate</th><th>Amount</th><th>Rate</th><th>Amount</th></tr></thead><tbody>{rows}</tbody></table>
<table class=totals><tr><td>Taxable value</td><td>₹ {money(totals.taxable_value)}</td></tr>
<tr><td>CGST</td><td>₹ {money(totals.cgst)}</td></tr><tr><td>SGST</td><td>₹ {money(totals.sgst)}</td></tr>
<tr class=total><td>Total</td><td>₹ {money(totals.total)}</td></tr></table>
<div class=words><b>Total in words:</b> {e(document.total_in_words)}</div>
{payment_rows}
<footer>Computer-generated document; no signature required.
<span style="float:right">{e(document.title)} {e(document.number)}</span></footer>
</body></html>
"""
