// Audit log (administrators): who did what to whom, from where, when; newest first.
import { get } from "../api.js";
import { fill, h, notice, pager, table } from "../ui.js";

const PAGE_SIZE = 25;

// auth's action codes, in words; an unknown code is shown as it is.
const ACTIONS = {
  "account.created": "Created the account",
  "login.succeeded": "Logged in",
  "login.failed": "Login failed",
  logout: "Logged out",
  "totp.enrolled": "Set up 2FA",
  "totp.reset": "Reset 2FA",
  "user.added": "Added a user",
  "user.deactivated": "Deactivated a user",
  "security.totp_enforced": "Enforced 2FA",
  "security.totp_relaxed": "Stopped enforcing 2FA",
  "security.totp_grace_changed": "Changed the days to set up 2FA",
  "ip_rule.created": "Added an IP rule",
  "ip_rule.changed": "Changed an IP rule",
  "ip_rule.deleted": "Deleted an IP rule",
  "session.refresh_token_reused": "Session ended: a spent refresh token was reused",
};

const REASONS = {
  invalid_credentials: "wrong email or password",
  inactive: "user deactivated",
  ip_not_allowed: "address not allowed",
  throttled: "too many attempts",
  wrong_totp_code: "wrong authenticator code",
};

function when(value) {
  const parsed = new Date(value);
  return h("time", { datetime: value },
    parsed.toLocaleString("en-IN", { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" }));
}

function action(entry) {
  const text = ACTIONS[entry.action] ?? entry.action;
  const details = entry.details || {};
  const extra = [];
  if (details.reason) extra.push(REASONS[details.reason] ?? String(details.reason).replaceAll("_", " "));
  if (details.role) extra.push(`role ${details.role}`);
  if (details.enabled !== undefined) extra.push(details.enabled ? "enabled" : "disabled");
  if (details.grace_days) extra.push(`${details.grace_days} day${details.grace_days === 1 ? "" : "s"} to set it up`);
  return [h("span", { title: entry.action }, text), extra.length ? h("span", { class: "muted" }, ` (${extra.join(", ")})`) : null];
}

export default async function auditLog() {
  const listSlot = h("div", {});
  const problem = h("div", {});

  async function load(page) {
    const answer = await get(`/api/account/audit-log?page=${page}&page_size=${PAGE_SIZE}`);
    fill(listSlot, [
      table(
        [["Time"], ["Actor"], ["Action"], ["Target"], ["IP"]],
        answer.items.map((entry) => h("tr", {},
          h("td", {}, when(entry.created_at)),
          h("td", {}, entry.actor_email ?? h("span", { class: "muted" }, "—")),
          h("td", {}, action(entry)),
          h("td", {}, entry.target ?? h("span", { class: "muted" }, "—")),
          h("td", {}, entry.ip ? h("code", {}, entry.ip) : h("span", { class: "muted" }, "—")))),
        "Nothing recorded yet."),
      pager(answer, (next) => load(next)
        .then(() => { problem.replaceChildren(); listSlot.querySelector("table")?.scrollIntoView(); })
        .catch((error) => fill(problem, notice(error.message, "bad")))),
    ]);
  }

  await load(1);
  return [
    h("h2", {}, "Audit log"),
    h("p", { class: "muted" }, "Every security-relevant change and every login of the account, newest first."),
    problem,
    listSlot,
  ];
}
