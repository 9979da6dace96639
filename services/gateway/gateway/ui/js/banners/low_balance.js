// The "Add Credits" message above every page while the account's balance is below its low-balance threshold.
// Pages that change the balance or the threshold without leaving the page call `balanceChanged()`, which
// draws the banners again; every navigation draws them anyway.
import { get } from "../api.js";
import { renderBanners } from "../banners.js";
import { h, money, useCurrency } from "../ui.js";

let shownTo = null; // the user the banners were last drawn for

/** Tell the portal the balance or the threshold changed: the banners above the page are drawn again. */
export function balanceChanged() {
  if (shownTo) renderBanners(document.getElementById("banners"), shownTo);
}

export default async function lowBalance(me) {
  shownTo = me;
  if (!me.account_id) return null; // platform staff have no wallet
  const balance = await get("/api/billing/balance");
  useCurrency(balance.currency);
  if (!balance.below_threshold) return null;
  return h("div", { class: "notice warn", role: "status", "data-testid": "low-balance" },
    `Your balance (${money(balance.balance)}) is below the threshold (${money(balance.low_balance_threshold)}) — `,
    h("a", { href: "/billing/add-credits", "data-link": true }, "Add Credits"));
}
