// Billing & Payments > Add Credits: the balance; online (the provider's checkout, then the
// result here), Recheck Payment Status; offline (details → review → thank you) and its requests.
import { get, idempotencyKey, keysPerBody, post } from "../api.js";
import { balanceChanged } from "../banners/low_balance.js";
import { add, clearErrors, date, field, fill, form, h, money, notice, pager, showErrors, status, table, useCurrency } from "../ui.js";

const MODES = [["neft", "NEFT"], ["rtgs", "RTGS"], ["imps", "IMPS"], ["cheque", "Cheque"], ["wire", "Wire transfer"]];
const MONEY = /^[0-9]+(\.[0-9]{1,2})?$/;
const POLLS = 5; // while the provider has not confirmed yet, look again this many times…
const POLL_MS = 1500; // …this far apart, then offer Recheck

/** An error the form shows next to its fields, found before asking the API. */
class Invalid extends Error {
  constructor(fields) { super("Check the highlighted fields."); this.fields = fields; }
}

export function billingTabs(current) {
  const tabs = [["/billing/add-credits", "Add Credits"], ["/billing/history", "Payments and ledger history"]];
  return h("nav", { class: "tabs", "aria-label": "Billing & Payments" }, tabs.map(([path, text]) =>
    h("a", { href: path, "data-link": true, "aria-current": path === current ? "page" : null }, text)));
}

/** Today in India (YYYY-MM-DD), the calendar billing dates transfers by, wherever the browser is. */
function today() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Kolkata", year: "numeric", month: "2-digit", day: "2-digit" })
    .format(new Date());
}

function paymentMessage(payment, cancelled) {
  const amount = money(payment.amount);
  switch (payment.status) {
    case "succeeded": return notice(`Payment of ${amount} succeeded. The credits have been added to your balance.`, "good");
    case "failed": return notice(`The payment of ${amount} failed${payment.failure_reason ? `: ${payment.failure_reason}` : ""}. Nothing was charged; you can try again.`, "bad");
    case "expired": return notice(`The payment of ${amount} expired before it was completed. Nothing was charged.`, "bad");
    default: return cancelled
      ? notice(`You cancelled the payment of ${amount}. Nothing was charged.`, "warn")
      : notice(`The payment of ${amount} is not confirmed by the provider yet.`, "warn");
  }
}

export default async function addCredits(context) {
  const balance = await get("/api/billing/balance");
  useCurrency(balance.currency);
  const balanceText = h("p", { class: "big", "data-testid": "balance" }, money(balance.balance));
  async function refreshBalance() {
    try { balanceText.textContent = money((await get("/api/billing/balance")).balance); }
    catch { /* the figure stays as it was; the next visit shows it */ }
    balanceChanged(); // the low-balance message above the page too
  }

  const returned = context.query.get("payment_id");
  const result = returned ? await paymentResult(returned, context.query.get("cancelled") === "1", refreshBalance) : null;
  const onlinePanel = h("div", {}, onlineForm(), recheckForm(refreshBalance));
  const offlinePanel = h("div", {}, await offlineSection());
  return [
    h("h2", {}, "Add Credits"),
    billingTabs("/billing/add-credits"),
    h("section", { class: "card", "aria-labelledby": "current-balance" },
      h("h3", { id: "current-balance" }, "Current balance"), balanceText,
      balance.below_threshold ? h("p", { class: "muted" }, `Below your low-balance threshold of ${money(balance.low_balance_threshold)}.`) : null),
    result,
    ...tabbed([["online", "Online", onlinePanel], ["offline", "Offline", offlinePanel]], context.query.get("tab") === "offline" ? 1 : 0),
  ];
}

/** Tabs (WAI-ARIA pattern: arrows move between them) over the given panels. */
function tabbed(entries, selected) {
  const tabs = [];
  const panels = [];
  function select(index, focus, remember = true) {
    tabs.forEach((tab, i) => { tab.setAttribute("aria-selected", String(i === index)); tab.tabIndex = i === index ? 0 : -1; });
    panels.forEach((panel, i) => { panel.hidden = i !== index; });
    if (focus) tabs[index].focus();
    if (remember) { // the address names the tab, so a reload or a link opens it
      const url = new URL(location.href);
      url.searchParams.set("tab", entries[index][0]);
      history.replaceState(history.state, "", url);
    }
  }
  entries.forEach(([key, label, content], index) => {
    tabs.push(h("button", { type: "button", role: "tab", id: `tab-${key}`, class: "tab", "aria-controls": `panel-${key}`,
      onclick: () => select(index, false),
      onkeydown: (event) => {
        const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
        if (step) select((index + step + entries.length) % entries.length, true);
      } }, label));
    panels.push(h("section", { role: "tabpanel", id: `panel-${key}`, "aria-labelledby": `tab-${key}`, class: "card" }, content));
  });
  select(selected, false, false);
  return [h("div", { role: "tablist", class: "tabs", "aria-label": "How to pay" }, tabs), ...panels];
}

function onlineForm() {
  const keyFor = keysPerBody(); // Pay pressed again after a failure opens no second checkout
  return [
    h("h3", {}, "Pay online"),
    h("p", { class: "muted" }, "You pay on the payment provider's page and come back here with the result."),
    form({
      fields: [field("Amount", "amount", { inputmode: "decimal", required: true, hint: "For example 5000 or 5000.00." })],
      submitLabel: "Pay",
      busyLabel: "Opening the payment page…",
      submit: async ({ amount }) => {
        if (!MONEY.test(amount)) throw new Invalid({ amount: "Enter an amount such as 5000 or 5000.00." });
        const payment = await post("/api/billing/credits/online", { amount }, { headers: keyFor({ amount }) });
        window.location.assign(payment.redirect_url);
      },
    }),
  ];
}

/** Back from the provider: the payment's outcome, looked at again a few times while it is pending. */
async function paymentResult(paymentId, cancelled, refreshBalance) {
  const section = h("section", { class: "card", "aria-labelledby": "result-title", "data-testid": "payment-result" });
  let payment;
  try {
    payment = await get(`/api/billing/payments/${encodeURIComponent(paymentId)}`);
  } catch (error) {
    add(section, h("h3", { id: "result-title" }, "Payment"), notice(error.status === 404 ? "No such payment." : error.message, "bad"));
    return section;
  }
  let problem = null;
  function show(polling) {
    const recheck = h("button", { type: "button", class: "secondary", onclick: async () => {
      recheck.disabled = true;
      recheck.textContent = "Checking…";
      problem = null;
      try { payment = await post(`/api/billing/payments/${encodeURIComponent(paymentId)}/recheck`); }
      catch (error) { problem = error.message; }
      show(false);
      refreshBalance();
    } }, "Recheck Payment Status");
    fill(section,
      h("h3", { id: "result-title" }, "Payment result"),
      paymentMessage(payment, cancelled),
      problem ? notice(problem, "bad") : null,
      h("p", { class: "muted" }, "Payment ID: ", h("code", { "data-testid": "payment-id" }, payment.payment_id)),
      payment.status !== "pending" ? null
        : polling ? h("p", { class: "muted", "aria-busy": "true" }, "Waiting for the provider's confirmation…")
          : h("div", { class: "actions" }, recheck,
            cancelled ? h("a", { class: "button secondary", href: payment.redirect_url }, "Go back to the payment page") : null));
  }
  let polls = cancelled ? 0 : POLLS;
  async function poll() {
    if (!section.isConnected) return; // the user went elsewhere
    try { payment = await get(`/api/billing/payments/${encodeURIComponent(paymentId)}`); } catch { polls = 0; }
    polls -= 1;
    show(payment.status === "pending" && polls > 0);
    if (payment.status !== "pending") refreshBalance();
    else if (polls > 0) setTimeout(poll, POLL_MS);
  }
  show(payment.status === "pending" && polls > 0);
  if (payment.status === "pending" && polls > 0) setTimeout(poll, POLL_MS);
  return section;
}

function recheckForm(refreshBalance) {
  const answer = h("div", { "data-testid": "recheck-result" });
  return [
    h("h3", {}, "Recheck Payment Status"),
    h("p", { class: "muted" }, "Paid but no credits yet? Enter the payment ID to ask the provider again; a paid payment is credited once."),
    form({
      fields: [field("Payment ID", "payment_id", { required: true, autocomplete: "off", spellcheck: "false" })],
      submitLabel: "Recheck Payment Status",
      busyLabel: "Checking…",
      submit: async ({ payment_id: paymentId }) => {
        answer.replaceChildren();
        if (!paymentId) throw new Invalid({ payment_id: "Enter the payment ID." });
        let payment;
        try {
          payment = await post(`/api/billing/payments/${encodeURIComponent(paymentId)}/recheck`);
        } catch (error) {
          if (error.status === 404) throw new Invalid({ payment_id: "No such payment." });
          throw error;
        }
        fill(answer, h("p", {}, "Status: ", status(payment.status)), paymentMessage(payment, false));
        await refreshBalance();
      },
    }),
    answer,
  ];
}

/** The platform's bank account to pay into (billing's settings), before the form that reports a payment. */
async function bankDetails() {
  const bank = await get("/api/billing/offline-payments/instructions");
  const rows = [["Account name", bank.account_name], ["Account number", bank.account_number], ["IFSC", bank.ifsc], ["Bank", bank.bank]];
  return h("section", { class: "bank-details", "aria-labelledby": "bank-title", "data-testid": "bank-details" },
    h("h3", { id: "bank-title" }, "Pay into this account"),
    bank.configured
      ? [h("dl", { class: "review" }, rows.map(([term, value]) => [h("dt", {}, term), h("dd", {}, h("code", {}, value))])),
        h("p", { class: "muted" }, "By NEFT, RTGS, IMPS or cheque, in ", bank.currency, ". Then report the payment below with its UTR or cheque number.")]
      : h("p", {}, "The bank details are not published here yet; ask support for the account to pay into."));
}

async function offlineSection() {
  const requests = h("div", { "data-testid": "offline-requests" });
  async function listRequests(page = 1) {
    const list = await get(`/api/billing/offline-payments?page=${page}`);
    fill(requests,
      table([["Submitted"], ["Amount", "num"], ["Mode"], ["Reference"], ["Paid on"], ["Status"], ["Credited", "num"], ["Reason"]],
        list.items.map((item) => h("tr", {},
          h("td", {}, date(item.created_at)), h("td", { class: "num" }, money(item.amount)),
          h("td", {}, Object.fromEntries(MODES)[item.mode] || item.mode), h("td", {}, item.reference),
          h("td", {}, date(item.paid_on)), h("td", {}, status(item.status)),
          h("td", { class: "num" }, money(item.approved_amount)), h("td", {}, item.reason || ""))),
        "No offline payments yet."),
      pager(list, listRequests) ?? "");
  }

  const details = h("div");
  const review = h("div", { hidden: true });
  const thanks = h("div", { hidden: true });
  function step(shown) {
    for (const part of [details, review, thanks]) part.hidden = part !== shown;
    shown.querySelector("h3")?.focus();
  }
  const detailsForm = form({
    fields: [
      field("Amount", "amount", { inputmode: "decimal", required: true }),
      field("Mode of payment", "mode", { options: MODES, value: "neft" }),
      field("Reference (UTR or cheque number)", "reference", { required: true, maxlength: 100, autocomplete: "off" }),
      field("Paid on", "paid_on", { type: "date", value: today(), max: today(), required: true }),
      field("Bank (optional)", "bank", { maxlength: 100 }),
      field("Note (optional)", "note", { type: "textarea", maxlength: 500 }),
    ],
    submitLabel: "Make Payment",
    submit: async (values) => {
      const invalid = {};
      if (!MONEY.test(values.amount)) invalid.amount = "Enter an amount such as 5000 or 5000.00.";
      if (!values.reference) invalid.reference = "Enter the UTR or cheque number.";
      if (!values.paid_on) invalid.paid_on = "Enter the date you paid.";
      else if (values.paid_on > today()) invalid.paid_on = `The date you paid cannot be in the future: today is ${date(today())}.`;
      if (Object.keys(invalid).length) throw new Invalid(invalid);
      showReview(values);
    },
  });
  add(details, h("h3", { tabindex: -1 }, "Offline payment details"),
    h("p", { class: "muted" }, "Paid by bank transfer or cheque? Tell us the details; finance credits your account once the money arrives."),
    detailsForm);

  function showReview(values) {
    const body = { amount: values.amount, mode: values.mode, reference: values.reference, paid_on: values.paid_on,
      bank: values.bank || null, note: values.note || null };
    // One key per reviewed submission: pressing Submit again after a failure (a lost answer, a 502)
    // cannot record the transfer twice; editing the details makes a new review and a new key.
    const key = idempotencyKey();
    const rows = [["Amount", money(body.amount)], ["Mode of payment", Object.fromEntries(MODES)[body.mode]],
      ["Reference", body.reference], ["Paid on", date(body.paid_on)], ["Bank", body.bank || "—"], ["Note", body.note || "—"]];
    fill(review,
      h("h3", { tabindex: -1 }, "Review your offline payment"),
      h("p", {}, "Check the details: this is what finance will see."),
      h("dl", { class: "review", "data-testid": "offline-review" }, rows.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)])),
      form({
        fields: [],
        submitLabel: "Submit Offline Payment",
        busyLabel: "Submitting…",
        secondary: h("button", { type: "button", class: "secondary", onclick: () => step(details) }, "Edit"),
        submit: async () => {
          let answer;
          try {
            answer = await post("/api/billing/credits/offline", body, { headers: { "Idempotency-Key": key } });
          } catch (error) {
            if (!Object.keys(error.fields || {}).length) throw error;
            step(details); // the field's own error next to it, where it can be corrected
            clearErrors(detailsForm);
            showErrors(detailsForm, error);
            return;
          }
          fill(thanks,
            h("h3", { tabindex: -1 }, "Offline payment submitted"),
            notice(answer.message, "good"),
            h("p", { class: "muted" }, "Request ID: ", h("code", {}, answer.id), " · Status: ", status(answer.status)),
            h("div", { class: "actions" }, h("button", { type: "button", class: "secondary", onclick: () => {
              detailsForm.reset();
              step(details);
            } }, "Report another payment")));
          step(thanks);
          await listRequests();
        },
      }));
    step(review);
  }

  await listRequests();
  return [await bankDetails(), details, review, thanks, h("h3", {}, "Your offline payments"), requests];
}
