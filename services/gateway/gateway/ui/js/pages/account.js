// Account Configuration (administrators): enforce 2FA, the low-balance threshold, the billing profile.
// Each is its own form, saved on its own, with its own confirmation.
import { get, put } from "../api.js";
import { balanceChanged } from "../banners/low_balance.js";
import { checkbox, field, fill, form, h, money, notice, useCurrency } from "../ui.js";

/** A card holding one form and the place its success message appears. */
function card(id, title, ...children) {
  return h("section", { class: "card", "aria-labelledby": id }, h("h3", { id }, title), children);
}

function said(slot, text, kind = "good") {
  fill(slot, notice(text, kind));
}

function securityCard(policy, me) {
  const result = h("div", { "data-testid": "security-result" });
  const explanation = h("div", { class: "hint", id: "enforce-explained" },
    h("p", {}, "When this is on, every user of the account who has not set up an authenticator app ",
      "must do so at their next login — or, with days to set it up, by that many days from now (users added later ",
      "get as many days from when they are added): until then they may log in without it and see the date on every page. ",
      "They scan a QR code (or type the secret), enter the 6-digit code, and receive one-time recovery codes."),
    h("p", {}, "Sessions that were opened without a code end at their next renewal, within minutes, ",
      "and ask to log in again. Users who already use an authenticator are asked for a code at every login either way."),
    h("p", {}, "Turning it off stops requiring it at new logins; users who set up an authenticator keep using it."));
  return card("security-title", "Two-factor authentication",
    form({
      fields: [
        checkbox("Enforce 2FA via T-OTP authentication mode", "enforce_totp", policy.enforce_totp),
        field("Days to set it up", "grace_days", {
          type: "number", min: 0, max: 30, step: 1, inputmode: "numeric", value: String(policy.grace_days ?? 0),
          hint: "0 to 30. With 0, users set up their authenticator at their next login. Changing it starts the days again.",
        }),
        explanation,
      ],
      submitLabel: "Save 2FA setting",
      busyLabel: "Saving…",
      submit: async ({ enforce_totp, grace_days }) => {
        result.replaceChildren();
        // A whole number goes as a number; anything else as typed, so the API says what is wrong with it.
        const days = /^\d{1,3}$/.test(grace_days) ? Number(grace_days) : grace_days;
        const saved = await put("/api/account/security", { enforce_totp, grace_days: days });
        if (!saved.enforce_totp) return said(result, "2FA is no longer enforced for new logins.");
        if (saved.grace_days > 0) {
          return said(result, `2FA is enforced. Users without an authenticator have ${saved.grace_days} `
            + `day${saved.grace_days === 1 ? "" : "s"} to set one up; the Users page shows each one's date.`);
        }
        said(result, me.totp_enrolled
          ? "2FA is enforced. Users without an authenticator set one up at their next login."
          : "2FA is enforced. Users without an authenticator set one up at their next login — you too, the next time you log in.");
      },
    }),
    result);
}

function thresholdCard(balance) {
  const result = h("div", { "data-testid": "threshold-result" });
  return card("threshold-title", "Low-balance threshold",
    h("p", {}, "Current balance: ", h("strong", {}, money(balance.balance))),
    form({
      fields: [field(`Low-balance threshold (${balance.currency})`, "low_balance_threshold", {
        value: balance.low_balance_threshold,
        inputmode: "decimal",
        required: true,
        hint: "While the balance is below this amount, everyone in the account sees a message to add credits. 0 turns it off.",
      })],
      submitLabel: "Save threshold",
      busyLabel: "Saving…",
      submit: async ({ low_balance_threshold }) => {
        result.replaceChildren();
        const saved = await put("/api/billing/threshold", { low_balance_threshold });
        balanceChanged();
        said(result, saved.below_threshold
          ? `Threshold set to ${money(saved.low_balance_threshold)}. The balance (${money(saved.balance)}) is below it: every page now asks to add credits.`
          : `Threshold set to ${money(saved.low_balance_threshold)}.`);
      },
    }),
    result);
}

function profileCard(profile, accepted) {
  const result = h("div", { "data-testid": "profile-result" });
  // The states and union territories billing accepts, from billing itself.
  const names = accepted.map((state) => state.name);
  const states = profile.state && !names.includes(profile.state) ? [...names, profile.state] : names;
  const section = card("profile-title", "Billing profile",
    h("p", { class: "muted" }, "Invoices name the account by these details; the state decides whether GST is CGST + SGST or IGST."),
    profile.configured ? null : notice("The billing profile is not set yet.", "warn"),
    form({
      fields: [
        field("Legal name", "legal_name", { value: profile.legal_name ?? "", required: true, autocomplete: "organization" }),
        field("Address", "address", { type: "textarea", value: profile.address ?? "", required: true }),
        field("State", "state", {
          value: profile.state ?? "",
          required: true,
          options: [["", "Choose a state or union territory"], ...states.map((name) => [name, name])],
        }),
        field("GSTIN (optional)", "gstin", {
          value: profile.gstin ?? "",
          maxlength: 15,
          autocapitalize: "characters",
          hint: "15 characters; the first two digits are the state's GST code (e.g. 29 for Karnataka).",
        }),
      ],
      submitLabel: "Save billing profile",
      busyLabel: "Saving…",
      submit: async ({ legal_name, address, state, gstin }) => {
        result.replaceChildren();
        await put("/api/billing/profile", { legal_name, address, state, gstin: gstin || null });
        said(result, "Billing profile saved. New invoices use these details.");
      },
    }),
    result);
  section.id = "billing-profile"; // Orders link here (/account#billing-profile) while the profile is missing
  if (location.hash === "#billing-profile") {
    // After the router has focused the page: bring the form into view, ready to type.
    setTimeout(() => { section.scrollIntoView(); section.querySelector("[name=legal_name]")?.focus(); }, 0);
  }
  return section;
}

export default async function account(context) {
  const [policy, balance, profile, states] = await Promise.all([
    get("/api/account/security"),
    get("/api/billing/balance"),
    get("/api/billing/profile"),
    get("/api/billing/profile/states"),
  ]);
  useCurrency(balance.currency);
  return [
    h("h2", {}, "Account Configuration"),
    securityCard(policy, context.me),
    thresholdCard(balance),
    profileCard(profile, states),
  ];
}
