// What a user refused by their account's IP restrictions sees, at login and on any page:
// their address, that their administrators' IP restrictions apply, and whom to ask.
// The API's 403 ip_not_allowed (auth's at login, the gateway's on every request) carries the
// address; the account's name comes from the signed-in user, when the portal knows them.
import { h } from "./ui.js";

export function isIpRefusal(error) {
  return Boolean(error) && error.status === 403 && error.code === "ip_not_allowed";
}

function whomToAsk(me, account) {
  if (me?.role === "admin") {
    return `You are an administrator of ${account}: the rules can be changed from an address they allow, `
      + "or by another administrator connected from one.";
  }
  return `Ask an administrator of ${account} to allow this address, or connect from an address they allow `
    + "(your office network, for example).";
}

/** The page's content for the refusal `problem`; `me` is the signed-in user when known, `actions` its buttons. */
export function blockedView(problem, me, actions, headingId = "blocked-title") {
  const account = me?.account_name ?? "your account";
  return [
    h("h2", { id: headingId, tabindex: "-1", dataset: { autofocus: "" } }, "Access from this address is not allowed"),
    h("div", { class: "notice bad", "data-testid": "ip-blocked" },
      h("p", {}, "Your address is ", h("strong", { "data-testid": "blocked-ip" }, problem.ip ?? "unknown"), "."),
      h("p", {}, `The IP restrictions set by the administrators of ${account} do not allow it.`),
      h("p", {}, whomToAsk(me, account))),
    h("div", { class: "actions" }, actions),
  ];
}
