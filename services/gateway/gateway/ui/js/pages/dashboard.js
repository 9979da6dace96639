// Dashboard: the balance (the low-balance message is a banner above every page: js/banners/low_balance.js).
import { get } from "../api.js";
import { balanceCard } from "../balance_chart.js";
import { rejectedPayments } from "../rejections.js";
import { h, money, useCurrency } from "../ui.js";

export default async function dashboard(context) {
  const [balance, rejections, trend] = await Promise.all([
    get("/api/billing/balance"), rejectedPayments().catch(() => null), balanceCard().catch(() => null)]);
  useCurrency(balance.currency);
  return [
    h("h2", {}, `Welcome${context.me.account_name ? `, ${context.me.account_name}` : ""}`),
    rejections,
    h("div", { class: "grid" },
      h("section", { class: "card", "aria-labelledby": "balance-title" },
        h("h3", { id: "balance-title" }, "Balance"),
        h("p", { class: "big", "data-testid": "balance" }, money(balance.balance)),
        h("p", { class: "muted" }, `Low-balance threshold: ${money(balance.low_balance_threshold)}`),
        h("div", { class: "actions" }, h("a", { class: "button", href: "/billing/add-credits", "data-link": true }, "Add Credits"))),
      h("section", { class: "card", "aria-labelledby": "shortcuts-title" },
        h("h3", { id: "shortcuts-title" }, "Shortcuts"),
        h("ul", {},
          h("li", {}, h("a", { href: "/certificates/orders", "data-link": true }, "Certificate orders")),
          h("li", {}, h("a", { href: "/invoices", "data-link": true }, "Invoices")),
          h("li", {}, h("a", { href: "/billing/history", "data-link": true }, "Payments and ledger history")),
          context.me.role === "admin" ? h("li", {}, h("a", { href: "/account", "data-link": true }, "Account Configuration")) : null))),
    trend,
  ];
}
