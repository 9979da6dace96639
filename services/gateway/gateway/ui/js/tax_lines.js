// The lines of an order or a tax invoice and their totals, as the PDF prints them: description,
// SAC, quantity, unit price, taxable value, each tax with its rate, total. View Order and the
// invoice page show the same table, so it is written once here.
import { h, money, table } from "./ui.js";

const nonZero = (amount) => Number(amount) !== 0; // a test of a display string, never arithmetic

/** CGST and SGST within the state, IGST across; all three only where a document mixes them (as the PDF). */
function taxColumns(lines, totals) {
  const igst = nonZero(totals.igst) || lines.some((l) => nonZero(l.igst_rate));
  const split = nonZero(totals.cgst) || nonZero(totals.sgst) || lines.some((l) => nonZero(l.cgst_rate) || nonZero(l.sgst_rate));
  if (split && igst) return ["cgst", "sgst", "igst"];
  return igst ? ["igst"] : ["cgst", "sgst"];
}

/**
 * A card with the lines and the totals. `totals` holds `taxable_value`, `cgst`, `sgst`, `igst` and
 * `total`; `testId` names the totals for tests; `footer` follows them (the amount in words).
 */
export function itemsCard({ lines, totals, currency, titleId, testId, footer = null }) {
  const taxes = taxColumns(lines, totals);
  const percent = (rate) => ` ${Number(rate)}%`;
  const headers = [["Description"], ["SAC"], ["Qty", "num"], ["Unit price", "num"], ["Taxable value", "num"],
    ...taxes.map((key) => [key.toUpperCase(), "num"]), ["Total", "num"]];
  const rows = lines.map((l) => h("tr", {},
    h("td", {}, l.description), h("td", {}, l.sac), h("td", { class: "num" }, String(l.quantity)),
    h("td", { class: "num" }, money(l.unit_price, currency)), h("td", { class: "num" }, money(l.taxable_value, currency)),
    taxes.map((key) => h("td", { class: "num" },
      h("span", {}, money(l[key], currency), h("span", { class: "muted" }, percent(l[`${key}_rate`]))))),
    h("td", { class: "num" }, money(l.total, currency))));
  const shown = [["Taxable value", totals.taxable_value], ...taxes.map((key) => [key.toUpperCase(), totals[key]]),
    ["Total", totals.total]];
  return h("section", { class: "card", "aria-labelledby": titleId },
    h("h3", { id: titleId }, "Items"),
    table(headers, rows, "No lines."),
    h("dl", { class: "totals", "data-testid": testId },
      shown.map(([label, amount]) => [h("dt", {}, label), h("dd", {}, money(amount, currency))])),
    footer);
}
