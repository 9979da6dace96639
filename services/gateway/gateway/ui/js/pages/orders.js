// Certificates > Orders: the account's orders, and a small form to place one.
import { get, post } from "../api.js";
import { date, field, form, h, money, pager, status, table, useCurrency } from "../ui.js";
import { profileNeeded } from "./billing_profile_needed.js";

/** A fresh order id (crypto.randomUUID needs a secure context; getRandomValues does not). */
function newOrderId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function orderPath(orderId) {
  return `/certificates/orders/${encodeURIComponent(orderId)}`;
}

function newOrderForm(context, profileMissing) {
  // One id per order the user means: a retried or double submission of the same items is charged once
  // (the API answers the first result); other items get a new id.
  let orderId = newOrderId();
  let lastItems = null;
  return form({
    fields: [
      field("Description", "description", { required: true, maxlength: 200, hint: "For example: TLS certificate, 1 year." }),
      field("SAC", "sac", { required: true, value: "998319", inputmode: "numeric", maxlength: 6,
        hint: "The 6-digit services accounting code; 998319 covers IT services." }),
      field("Quantity", "quantity", { type: "number", min: 1, step: 1, value: "1", required: true }),
      field("Unit price", "unit_price", { inputmode: "decimal", required: true, hint: "Before GST, for example 1000.00." }),
    ],
    submitLabel: "Place order",
    busyLabel: "Placing the order…",
    submit: async (values) => {
      const items = [{ description: values.description, sac: values.sac, quantity: Number(values.quantity) || values.quantity,
        unit_price: values.unit_price }];
      if (lastItems !== null && JSON.stringify(items) !== lastItems) orderId = newOrderId();
      lastItems = JSON.stringify(items);
      try {
        await post("/api/billing/orders", { order_id: orderId, items });
      } catch (error) {
        if (error.status === 422) lastItems = null; // nothing was created: the same id stays free
        if (error.code === "billing_profile_required") return profileMissing();
        throw error;
      }
      context.navigate(orderPath(orderId));
    },
  });
}

export default async function orders(context) {
  const page = Number(context.query.get("page")) || 1;
  const [balance, list, profile] = await Promise.all([
    get("/api/billing/balance"), get(`/api/billing/orders?page=${page}`), get("/api/billing/profile")]);
  useCurrency(balance.currency);
  const rows = list.items.map((order) => h("tr", {},
    h("td", {}, h("a", { href: orderPath(order.order_id), "data-link": true }, h("code", {}, order.order_id))),
    h("td", {}, date(order.created_at)),
    h("td", {}, order.lines[0]?.description ?? "", order.lines.length > 1 ? ` and ${order.lines.length - 1} more` : ""),
    h("td", { class: "num" }, money(order.total, order.currency)),
    h("td", {}, status(order.status))));
  return [
    h("h2", {}, "Orders"),
    h("section", { class: "card", "aria-labelledby": "orders-title" },
      h("h3", { id: "orders-title" }, "Certificate orders"),
      table([["Order ID"], ["Date"], ["Items"], ["Total", "num"], ["Status"]], rows, "No orders yet."),
      pager(list, (next) => context.navigate(`/certificates/orders?page=${next}`))),
    h("section", { class: "card", "aria-labelledby": "new-order-title" },
      h("h3", { id: "new-order-title" }, "New order"),
      newOrderSlot(context, balance, profile)),
  ];
}

/** The New order form, or (while the billing profile lacks what an invoice names) what to do first. */
function newOrderSlot(context, balance, profile) {
  const needed = profileNeeded(context.me);
  const placing = h("div", {},
    h("p", { class: "muted" }, `GST is added to the price. The order is paid from your credits (balance ${money(balance.balance)}) `,
      "when they cover its total; otherwise it waits for payment, online or from credits."),
    newOrderForm(context, () => { placing.hidden = true; needed.hidden = false; }));
  needed.hidden = profile.configured;
  placing.hidden = !profile.configured;
  return h("div", {}, needed, placing);
}
