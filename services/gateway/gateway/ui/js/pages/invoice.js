// One invoice or receipt as a page, as hosted invoice pages show it: seller and buyer, the lines
// with SAC and the tax split, the totals and the amount in words, how it was paid; Pay while an
// invoice is due (on its order's page, as the list does), Download PDF, Print.
import { get } from "../api.js";
import { itemsCard } from "../tax_lines.js";
import { date, h, money, status } from "../ui.js";
import { orderPath } from "./orders.js";
import { downloadButton } from "./invoices.js";

const METHODS = { credits: "Credits", online: "Online (card)", neft: "NEFT", rtgs: "RTGS", imps: "IMPS", cheque: "Cheque",
  wire: "Wire transfer" };

function party(title, who, unregistered) {
  return h("section", { class: "card party", "aria-label": title },
    h("h3", {}, title),
    h("p", { class: "strong" }, who.name),
    who.address ? h("p", { class: "address" }, who.address) : null,
    who.state ? h("p", {}, `State: ${who.state}${who.state_code ? ` (code ${who.state_code})` : ""}`) : null,
    unregistered || who.gstin ? h("p", {}, `GSTIN: ${who.gstin || "Unregistered"}`) : null);
}

function lines(doc) {
  return itemsCard({
    lines: doc.lines, totals: doc.totals, currency: doc.currency, titleId: "doc-lines-title", testId: "document-totals",
    footer: h("p", { class: "muted in-words" }, "Amount in words: ", h("span", { "data-testid": "in-words" }, doc.total_in_words)),
  });
}

function payment(doc) {
  const paid = doc.payment;
  if (!paid) return null;
  const rows = [["Method", METHODS[paid.method] || paid.method.replace(/^./, (c) => c.toUpperCase())], ["Reference", h("code", {}, paid.reference)],
    ["Paid on", date(paid.paid_on)], paid.provider ? ["Provider", paid.provider] : null, paid.bank ? ["Bank", paid.bank] : null];
  return h("section", { class: "card", "aria-labelledby": "doc-payment-title" },
    h("h3", { id: "doc-payment-title" }, "Payment"),
    h("dl", { class: "review", "data-testid": "document-payment" }, rows.filter(Boolean).map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)])));
}

function actions(entry) {
  const doc = entry.document;
  const due = entry.status === "due" && entry.order_id;
  return h("div", { class: "actions no-print" },
    due ? h("a", { class: "button", href: orderPath(entry.order_id), "data-link": true }, `Pay ${money(entry.total, doc.currency)}`) : null,
    downloadButton(entry, "Download PDF"),
    h("button", { type: "button", class: "secondary", onclick: () => window.print() }, "Print"));
}

export default async function invoice(context) {
  let entry;
  try {
    entry = await get(`/api/invoices/${encodeURIComponent(context.params.id)}`);
  } catch (error) {
    if (error.status !== 404 && error.status !== 422) throw error;
    return [h("h2", {}, "Document not found"),
      h("p", {}, "There is no such invoice or receipt in this account. ", h("a", { href: "/invoices", "data-link": true }, "All invoices"))];
  }
  const doc = entry.document;
  const facts = [[doc.kind === "invoice" ? "Invoice number" : "Voucher number", entry.number], ["Date", date(doc.issued_on)],
    ["Status", h("span", { "data-testid": "document-status" }, status(entry.status))],
    doc.order_id ? ["Order", h("a", { href: orderPath(doc.order_id), "data-link": true }, doc.order_id)] : null,
    ["Place of supply", doc.place_of_supply]];
  return [
    h("p", { class: "no-print" }, h("a", { href: "/invoices", "data-link": true }, "← Invoices")),
    h("h2", {}, `${doc.title} ${entry.number}`),
    actions(entry),
    h("article", { class: "document", "aria-label": `${doc.title} ${entry.number}` },
      h("section", { class: "card", "aria-label": "Details" },
        h("dl", { class: "review" }, facts.filter(Boolean).map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]))),
      h("div", { class: "grid" }, party("From", doc.seller, false), party("Bill to", doc.buyer, true)),
      lines(doc),
      payment(doc),
      doc.notes?.length ? h("section", { class: "card", "aria-label": "Notes" }, doc.notes.map((note) => h("p", {}, note))) : null),
  ];
}
