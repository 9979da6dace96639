// Invoices: the account's invoices and receipts, filtered through the address (so a view is
// linkable), each with its PDF, and Pay on a due invoice (on its order's page: credits or online).
import { api, get } from "../api.js";
import { add, date, field, h, money, pager, showErrors, status, table } from "../ui.js";

const FILTERS = ["status", "kind", "from", "to"];

/** Fetch a document's PDF (the session's cookies go with it) and save it under its number. */
export async function downloadDocument(doc) {
  const response = await api("GET", `/api/invoices/${encodeURIComponent(doc.id)}/pdf`, undefined, { raw: true });
  const disposition = response.headers.get("Content-Disposition") || "";
  const filename = disposition.match(/filename="([^"]+)"/)?.[1] || `${doc.number.replaceAll("/", "-")}.pdf`;
  const url = URL.createObjectURL(await response.blob());
  const link = h("a", { href: url, download: filename, hidden: true });
  add(document.body, link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000); // long enough for the browser to have saved it
}

const SVG = "http://www.w3.org/2000/svg";
/** The download icon: an arrow onto a tray, drawn with the current text colour. */
function downloadIcon() {
  const svg = document.createElementNS(SVG, "svg");
  for (const [name, value] of Object.entries({ viewBox: "0 0 24 24", width: 18, height: 18, "aria-hidden": "true", fill: "none",
    stroke: "currentColor", "stroke-width": 2, "stroke-linecap": "round", "stroke-linejoin": "round" })) svg.setAttribute(name, value);
  for (const d of ["M12 4v11", "M7 10l5 5 5-5", "M5 19h14"]) {
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", d);
    add(svg, path);
  }
  return svg;
}

/** The icon button that downloads one document, with its failure said next to it. */
export function downloadButton(doc, label = null) {
  const problem = h("span", { class: "error", role: "alert" });
  const button = h("button", { type: "button", class: label ? "secondary" : "icon",
    "aria-label": label ? null : `Download ${doc.number} (PDF)`, title: label ? null : "Download PDF",
    onclick: async () => {
      button.disabled = true;
      problem.textContent = "";
      try { await downloadDocument(doc); } catch (error) { problem.textContent = error.message; }
      finally { button.disabled = false; }
    } }, downloadIcon(), label);
  return h("span", { class: "download" }, button, problem);
}

function filterForm(context) {
  const q = context.query;
  const element = h("form", { class: "filters", role: "search", "aria-label": "Filter invoices" },
    field("Status", "status", { options: [["", "Any"], ["due", "Due"], ["paid", "Paid"]], value: q.get("status") || "" }),
    field("Kind", "kind", { options: [["", "Any"], ["invoice", "Invoice"], ["receipt", "Receipt"]], value: q.get("kind") || "" }),
    field("From", "from", { type: "date", value: q.get("from") || "" }),
    field("To", "to", { type: "date", value: q.get("to") || "" }),
    h("p", { class: "error", role: "alert", dataset: { errorFor: "_form" } }),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Apply filters"),
      h("a", { class: "button secondary", href: "/invoices", "data-link": true }, "Clear")));
  element.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = new URLSearchParams();
    for (const name of FILTERS) if (element.elements[name].value) chosen.set(name, element.elements[name].value);
    context.navigate(`/invoices${chosen.toString() ? `?${chosen}` : ""}`);
  });
  return element;
}

export default async function invoices(context) {
  const filters = filterForm(context);
  const query = new URLSearchParams();
  for (const name of [...FILTERS, "page"]) if (context.query.get(name)) query.set(name, context.query.get(name));
  let list;
  try {
    list = await get(`/api/invoices?${query}`);
  } catch (error) {
    if (error.status !== 422) throw error;
    showErrors(filters, error); // e.g. "from" after "to", next to the field
    return [h("h2", {}, "Invoices"), filters];
  }
  const filtered = FILTERS.some((name) => context.query.get(name));
  const rows = list.items.map((doc) => h("tr", { dataset: { number: doc.number } },
    h("td", {}, h("a", { href: `/invoices/${encodeURIComponent(doc.id)}`, "data-link": true }, doc.number)),
    h("td", {}, date(doc.issued_at)),
    h("td", {}, doc.kind === "invoice" ? "Invoice" : "Receipt"),
    h("td", {}, doc.order_id
      ? h("a", { href: `/certificates/orders/${encodeURIComponent(doc.order_id)}`, "data-link": true }, doc.order_id) : "—"),
    h("td", { class: "num" }, money(doc.total, doc.currency)),
    h("td", {}, status(doc.status)),
    h("td", {}, h("span", { class: "doc-actions" }, downloadButton(doc),
      doc.status === "due" && doc.order_id
        ? h("a", { class: "button", href: `/certificates/orders/${encodeURIComponent(doc.order_id)}`, "data-link": true,
          "aria-label": `Pay ${doc.number}` }, "Pay")
        : null))));
  return [
    h("h2", {}, "Invoices"),
    filters,
    h("p", { class: "muted", role: "status" }, `${list.total} ${list.total === 1 ? "document" : "documents"}${filtered ? " match the filters" : ""}.`),
    table([["Number"], ["Date"], ["Kind"], ["Order"], ["Total", "num"], ["Status"], ["Actions"]],
      rows, filtered ? "No documents match the filters." : "No invoices or receipts yet."),
    pager(list, (page) => {
      const next = new URLSearchParams(context.query);
      next.set("page", page);
      context.navigate(`/invoices?${next}`);
    }),
  ];
}
