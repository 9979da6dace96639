// View Order: its lines, tax split and totals, its status; Pay (from credits or online) while it
// awaits payment; and Download Invoice once invoicing has issued it.
import { get, keysPerBody, post } from "../api.js";
import { fromMinor, toMinor } from "../decimal.js";
import { itemsCard } from "../tax_lines.js";
import { date, fill, h, money, notice, status, useCurrency } from "../ui.js";
import { downloadButton } from "./invoices.js";
import { orderPath } from "./orders.js";

// Invoicing issues the invoice from billing's event, usually within a second or two: look every
// second at first, then every few seconds for as long as the page is open (a busy broker or a
// restarting invoicing delays it; it never loses it).
const INVOICE_QUICK_POLLS = 10;
const INVOICE_POLL_MS = 1000;
const INVOICE_SLOW_POLL_MS = 5000;


export default async function viewOrder(context) {
  const id = context.params.id;
  let order;
  try {
    order = await get(`/api/billing/orders/${encodeURIComponent(id)}`);
  } catch (error) {
    if (error.status !== 404) throw error;
    return [h("h2", {}, "Order not found"),
      h("p", {}, "There is no such order in this account. ", h("a", { href: "/certificates/orders", "data-link": true }, "All orders"))];
  }
  const balance = await get("/api/billing/balance");
  useCurrency(balance.currency);
  return [
    h("p", {}, h("a", { href: "/certificates/orders", "data-link": true }, "← Orders")),
    h("h2", {}, "View Order"),
    await outcome(context),
    summary(order),
    order.status === "awaiting_payment" ? payPanel(context, order, balance) : null,
    lines(order),
    invoicePanel(order),
  ];
}

function summary(order) {
  const buyer = order.buyer;
  return h("section", { class: "card", "aria-label": "Order" },
    h("dl", { class: "review" },
      h("dt", {}, "Order ID"), h("dd", {}, h("code", {}, order.order_id)),
      h("dt", {}, "Status"), h("dd", { "data-testid": "order-status" }, status(order.status)),
      h("dt", {}, "Placed"), h("dd", {}, date(order.created_at)),
      order.paid_at ? [h("dt", {}, "Paid"), h("dd", {}, date(order.paid_at))] : null,
      h("dt", {}, "Buyer"), h("dd", {}, buyer.legal_name, buyer.gstin ? ` · GSTIN ${buyer.gstin}` : ""),
      h("dt", {}, "Place of supply"), h("dd", {}, order.place_of_supply),
      h("dt", {}, "Total"), h("dd", { class: "strong", "data-testid": "order-total" }, money(order.total, order.currency))));
}

function lines(order) {
  const totals = { taxable_value: order.subtotal, ...order.tax, total: order.total };
  return itemsCard({ lines: order.lines, totals, currency: order.currency, titleId: "lines-title", testId: "order-totals" });
}

/** Back from the provider (`?payment_id=`) or from paying with credits (`?paid=credits`). */
async function outcome(context) {
  if (context.query.get("paid") === "credits") return notice("The order is paid from your credits.", "good");
  const paymentId = context.query.get("payment_id");
  if (!paymentId) return null;
  let payment;
  try { payment = await get(`/api/billing/payments/${encodeURIComponent(paymentId)}`); }
  catch { return notice("No such payment.", "bad"); }
  const amount = money(payment.amount);
  if (payment.status === "succeeded") return notice(`Payment of ${amount} received; the order is paid.`, "good");
  if (payment.status === "failed" || payment.status === "expired") {
    return notice(`The payment of ${amount} ${payment.status === "failed" ? "failed" : "expired"}${payment.failure_reason ? `: ${payment.failure_reason}` : ""}. The order still awaits payment.`, "bad");
  }
  return notice(context.query.get("cancelled") === "1"
    ? "You cancelled the payment. Nothing was charged; the order still awaits payment."
    : `The provider has not confirmed the payment yet (payment ID ${payment.payment_id}); Recheck Payment Status on Add Credits asks again.`, "warn");
}

/** What paying this order takes: the credits it uses and what paying online charges (exact, in paise): the
 * API's quote (`online_charge`: the shortfall, at least the smallest online payment), else the shortfall. */
function shares(order, balance) {
  const total = toMinor(order.total);
  const credits = toMinor(balance.balance);
  const covered = credits >= total; // a hint only; the API decides
  const used = covered ? total : (credits > 0n ? credits : 0n);
  const charge = order.online_charge && !covered ? toMinor(order.online_charge) : total - used;
  return { covered, fromCredits: fromMinor(used), online: fromMinor(charge), extra: fromMinor(charge - (total - used)) };
}

function payPanel(context, order, balance) {
  const message = h("div", { "aria-live": "polite" });
  const share = shares(order, balance);
  const keyFor = keysPerBody(); // pressing a Pay button again after a failure pays once
  async function pay(method, button) {
    const buttons = [fromCredits, online];
    buttons.forEach((b) => { b.disabled = true; });
    const label = button.textContent;
    button.textContent = "Working…";
    message.replaceChildren();
    try {
      const answer = await post(`/api/billing/orders/${encodeURIComponent(order.order_id)}/pay`, { method }, { headers: keyFor({ method }) });
      if (method === "online" && answer.status !== "paid" && answer.payment) return window.location.assign(answer.payment.redirect_url);
      return context.navigate(`${orderPath(order.order_id)}?paid=credits`, { replace: true });
    } catch (error) {
      if (error.code === "insufficient_credits") {
        fill(message, h("div", { class: "notice bad", role: "alert" },
          `Your balance (${money(balance.balance)}) does not cover this order's total (${money(order.total)}). Pay online, or `,
          h("a", { href: "/billing/add-credits", "data-link": true }, "add credits"), " first."));
        online.focus();
      } else {
        // A refusal names what is wrong in its field's message (e.g. more than the largest online payment).
        const said = Object.values(error.fields || {}).filter(Boolean);
        const text = said.length ? said.map((t) => t[0].toUpperCase() + t.slice(1)).join(" ") : error.message;
        fill(message, h("div", { class: "notice bad", role: "alert" }, text,
          said.length ? [" ", h("a", { href: "/billing/add-credits", "data-link": true }, "Add credits")] : null));
      }
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
      fromCredits.disabled = !share.covered;
      button.textContent = label;
    }
  }
  const reason = h("p", { class: "hint", id: "credits-reason" },
    `Your balance (${money(balance.balance)}) does not cover the total (${money(order.total)}).`);
  const fromCredits = h("button", {
    type: "button", class: share.covered ? null : "secondary", disabled: !share.covered,
    "aria-describedby": share.covered ? null : "credits-reason", onclick: () => pay("credits", fromCredits),
  }, "Pay from credits");
  const onlineLabel = share.covered
    ? "Pay online"
    : `Pay ${money(share.online)} online`;
  const online = h("button", { type: "button", class: share.covered ? "secondary" : null, onclick: () => pay("online", online) }, onlineLabel);
  const explained = share.covered
    ? `Your balance (${money(balance.balance)}) covers it: paying online takes it from your credits too, with no card payment.`
    : share.fromCredits === "0.00"
      ? `Paying online charges ${money(share.online)}, the whole total.`
      : `Pay ${money(share.online)} online — your credits cover ${money(share.fromCredits)}.`
        + (share.extra !== "0.00" ? ` That is the smallest online payment: the ${money(share.extra)} left over stays as credits.` : "");
  return h("section", { class: "card", "aria-labelledby": "pay-title" },
    h("h3", { id: "pay-title" }, "Pay this order"),
    h("p", {}, `This order awaits payment of ${money(order.total)}. Your balance is ${money(balance.balance)}.`),
    h("p", { "data-testid": "pay-online-share" }, explained),
    h("div", { class: "actions" }, fromCredits, online),
    share.covered ? null : reason,
    message);
}

function invoicePanel(order) {
  const body = h("div", { "data-testid": "order-invoice", "aria-live": "polite" }, h("p", { class: "muted" }, "Looking for the invoice…"));
  let looks = 0;
  async function look() {
    if (looks > 0 && !body.isConnected) return; // the user went elsewhere
    looks += 1;
    let invoice = null;
    try {
      invoice = (await get(`/api/invoices?kind=invoice&order_id=${encodeURIComponent(order.order_id)}`)).items[0] ?? null;
    } catch {
      fill(body, h("p", { class: "muted" }, "Invoices cannot be reached right now; looking again in a moment."));
      setTimeout(look, INVOICE_SLOW_POLL_MS);
      return;
    }
    // Invoicing hears of the order (and of its payment) from billing's events, a moment later.
    const current = invoice && !(order.status === "paid" && invoice.status === "due");
    if (invoice) {
      fill(body, h("p", {}, "Invoice ", h("a", { href: `/invoices/${encodeURIComponent(invoice.id)}`, "data-link": true }, invoice.number), " · ", status(invoice.status)),
        h("div", { class: "actions" }, downloadButton(invoice, "Download Invoice")));
    } else if (looks >= INVOICE_QUICK_POLLS) {
      fill(body, h("p", { class: "muted" }, "The invoice is taking longer than usual; it appears here by itself once issued."));
    } else {
      fill(body, h("p", { class: "muted" }, "The invoice is being prepared…"));
    }
    if (!current) setTimeout(look, looks < INVOICE_QUICK_POLLS ? INVOICE_POLL_MS : INVOICE_SLOW_POLL_MS);
  }
  look();
  return h("section", { class: "card", "aria-labelledby": "invoice-title" }, h("h3", { id: "invoice-title" }, "Invoice"), body);
}
