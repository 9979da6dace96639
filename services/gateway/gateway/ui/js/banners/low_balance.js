// The "Add Credits" message above every page while the account's balance is below its low-balance threshold.
// Pages that change the balance or the threshold without leaving the page call `balanceChanged()`; the
// portal then draws the banners again.
import { get } from "../api.js";
import { h, money, useCurrency } from "../ui.js";

export const BALANCE_CHANGED = "tollgate:balance-changed";

/** Tell the portal the balance or the threshold changed (the banners above the page are drawn again). */
export function balanceChanged() {
  window.dispatchEvent(new Event(BALANCE_CHANGED));
}

export default async function lowBalance(me) {
  if (!me.account_id) return null; // platform staff have no wallet
  const balance = await get("/api/billing/balance");
  useCurrency(balance.currency);
  if (!balance.below_threshold) return null;
  return h("div", { class: "notice warn", role: "status", "data-testid": "low-balance" },
    `Your balance (${money(balance.balance)}) is below the threshold (${money(balance.low_balance_threshold)}) — `,
    h("a", { href: "/billing/add-credits", "data-link": true }, "Add Credits"));
}
