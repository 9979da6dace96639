// Finance (staff): every account's offline payments by status; pending ones are approved (for the
// amount that arrived; another amount needs a reason) or rejected (with a reason), once.
import { get, post } from "../api.js";
import { add, clearErrors, date, field, fill, form, h, money, notice, pager, showErrors, status, table } from "../ui.js";

const STATUSES = [["pending_approval", "Pending approval"], ["approved", "Approved"], ["rejected", "Rejected"], ["", "All"]];
const MODES = { neft: "NEFT", rtgs: "RTGS", imps: "IMPS", cheque: "Cheque", wire: "Wire transfer" };

function filterTabs(current) {
  return h("nav", { class: "tabs", "aria-label": "Status" }, STATUSES.map(([value, text]) =>
    h("a", { href: value ? `/finance?status=${value}` : "/finance?status=all", "data-link": true,
      "aria-current": value === current ? "page" : null }, text)));
}

function details(item) {
  const rows = [
    ["Account", [item.account_name ? `${item.account_name} ` : "", h("code", {}, item.account_id)]],
    ["Submitted", date(item.created_at)],
    ["Amount", money(item.amount, item.currency)], ["Mode", MODES[item.mode] || item.mode], ["Reference", item.reference],
    ["Paid on", date(item.paid_on)], ["Bank", item.bank || "—"], ["Note", item.note || "—"],
  ];
  return h("dl", { class: "review" }, rows.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

/** One pending request with its decision form: Approve submits the form, Reject uses the same reason. */
function decisionCard(item, onDecided) {
  const card = h("article", { class: "card", "aria-label": `Offline payment ${item.reference}`, dataset: { reference: item.reference } });
  const decide = async (body) => {
    const decided = await post(`/api/finance/offline-payments/${encodeURIComponent(item.id)}/decision`, body);
    fill(card, notice(decided.status === "approved"
      ? `Approved ${money(decided.approved_amount, decided.currency)} for ${item.reference}; the account is credited.`
      : `Rejected ${item.reference}: ${decided.reason}`, "good"));
    onDecided();
  };
  const reject = h("button", { type: "button", class: "danger", onclick: async () => {
    clearErrors(element);
    const reason = element.elements.reason.value.trim();
    if (!reason) return showErrors(element, { fields: { reason: "Give the reason for rejecting; the customer sees it." } });
    reject.disabled = true;
    try { await decide({ decision: "reject", reason }); } catch (error) { showErrors(element, error); } finally { reject.disabled = false; }
  } }, "Reject");
  const element = form({
    fields: [
      field("Amount received", "amount", { value: item.amount, inputmode: "decimal", required: true,
        hint: "Change it if a different amount reached the bank; then a reason is required." }),
      field("Reason", "reason", { type: "textarea", maxlength: 500, hint: "Required to reject, or to approve another amount." }),
    ],
    submitLabel: "Approve",
    busyLabel: "Approving…",
    secondary: reject,
    submit: async ({ amount, reason }) => decide({ decision: "approve", amount, ...(reason ? { reason } : {}) }),
  });
  add(card, h("h3", {}, `${money(item.amount, item.currency)} · ${MODES[item.mode] || item.mode} ${item.reference}`), details(item), element);
  return card;
}

export default async function finance(context) {
  const wanted = context.query.get("status");
  const current = wanted === "all" ? "" : (STATUSES.some(([value]) => value === wanted) ? wanted : "pending_approval");
  const page = Number(context.query.get("page")) || 1;
  const list = await get(`/api/finance/offline-payments?page=${page}${current ? `&status=${current}` : ""}`);
  const goTo = (next) => context.navigate(`/finance?status=${current || "all"}&page=${next}`);
  let content;
  if (current === "pending_approval") {
    const counter = h("p", { class: "muted", role: "status" }, `${list.total} pending.`);
    let left = list.total;
    content = h("div", {}, counter, list.items.length
      ? list.items.map((item) => decisionCard(item, () => { left -= 1; counter.textContent = `${left} pending.`; }))
      : h("p", { class: "muted" }, "Nothing waits for a decision."));
  } else {
    content = table([["Submitted"], ["Account"], ["Amount", "num"], ["Mode"], ["Reference"], ["Paid on"], ["Status"], ["Credited", "num"], ["Reason"], ["Decided"]],
      list.items.map((item) => h("tr", {},
        h("td", {}, date(item.created_at)), h("td", {}, item.account_name || h("code", {}, item.account_id)),
        h("td", { class: "num" }, money(item.amount, item.currency)), h("td", {}, MODES[item.mode] || item.mode),
        h("td", {}, item.reference), h("td", {}, date(item.paid_on)), h("td", {}, status(item.status)),
        h("td", { class: "num" }, money(item.approved_amount, item.currency)), h("td", {}, item.reason || ""),
        h("td", {}, date(item.decided_at)))),
      "No offline payments with this status.");
  }
  return [
    h("h2", {}, "Offline payments"),
    h("p", { class: "muted" }, "Bank transfers and cheques reported by every account. Approve what reached the bank; nobody's credits change until you do."),
    filterTabs(current),
    content,
    pager(list, goTo),
  ];
}
