// Billing & Payments > Payments and ledger history: online payments, and every change of the balance.
import { get } from "../api.js";
import { date, fill, h, money, pager, status, table, useCurrency } from "../ui.js";
import { billingTabs } from "./add_credits.js";

const KINDS = { online_payment: "Online payment", offline_payment: "Offline payment", order: "Order" };

/** Credits with a plus, debits with the minus money() already gives them. */
function signed(amount) {
  return String(amount).startsWith("-") ? money(amount) : `+${money(amount)}`;
}

function orderLink(orderId) {
  return h("a", { href: `/certificates/orders/${encodeURIComponent(orderId)}`, "data-link": true }, orderId);
}

/** A section whose table pages itself (its page is its own, not the address's). */
function paged(title, testId, load) {
  const body = h("div", { "data-testid": testId });
  async function show(page) {
    try {
      fill(body, await load(page, show));
    } catch (error) {
      fill(body, h("p", { class: "error", role: "alert" }, error.message));
    }
  }
  return { section: h("section", { class: "card", "aria-label": title }, h("h3", {}, title), body), show };
}

export default async function history() {
  useCurrency((await get("/api/billing/balance")).currency);

  const payments = paged("Online payments", "payments", async (page, again) => {
    const list = await get(`/api/billing/payments?page=${page}`);
    return [
      table([["Date"], ["Payment ID"], ["Amount", "num"], ["Status"], ["For"]],
        list.items.map((p) => h("tr", {},
          h("td", {}, date(p.created_at)),
          h("td", {}, h("code", {}, p.payment_id)),
          h("td", { class: "num" }, money(p.amount)),
          h("td", {}, status(p.status), p.failure_reason ? h("span", { class: "muted" }, ` ${p.failure_reason}`) : null),
          h("td", {}, p.order_id ? ["Order ", orderLink(p.order_id)] : "Credits"))),
        "No online payments yet."),
      pager(list, again),
    ];
  });

  const ledger = paged("Ledger", "ledger", async (page, again) => {
    const list = await get(`/api/billing/ledger?page=${page}`);
    return [
      table([["Date"], ["Entry"], ["Reference"], ["Amount", "num"], ["Balance after", "num"]],
        list.items.map((e) => h("tr", {},
          h("td", {}, date(e.created_at)),
          h("td", {}, KINDS[e.kind] || e.kind),
          h("td", {}, e.kind === "order" ? orderLink(e.reference) : h("code", {}, e.reference)),
          h("td", { class: `num ${String(e.amount).startsWith("-") ? "debit" : "credit"}` }, signed(e.amount)),
          h("td", { class: "num" }, money(e.balance_after)))),
        "No ledger entries yet."),
      pager(list, again),
    ];
  });

  await Promise.all([payments.show(1), ledger.show(1)]);
  return [
    h("h2", {}, "Payments and ledger history"),
    billingTabs("/billing/history"),
    payments.section,
    ledger.section,
  ];
}
