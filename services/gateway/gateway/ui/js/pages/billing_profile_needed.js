// What a person is told when the account cannot order yet: an order's tax invoice names the buyer's legal
// name, address and state (billing answers 422 `billing_profile_required` without them).
import { h } from "../ui.js";

export const PROFILE_FORM = "/account#billing-profile";

/** The message for `me`: an administrator is led to the profile form, a user is told whom to ask. */
export function profileNeeded(me) {
  const admin = me?.role === "admin";
  return h("div", { class: "notice warn", role: "status", "data-testid": "profile-needed" },
    h("p", {}, h("strong", {}, admin ? "Add your billing profile first" : "Orders need the account's billing profile")),
    h("p", {}, "Every order gets a tax invoice that names your company's legal name, address and state; ",
      "the state also decides the GST. "),
    admin
      ? h("p", {}, h("a", { class: "button", href: PROFILE_FORM, "data-link": true }, "Add the billing profile"))
      : h("p", {}, "Ask an administrator of your account to add it under Account Configuration › Billing profile; ",
        "then you can place orders here."));
}
