// Above every page while the signed-in user has a 2FA deadline (enforced 2FA with a grace period).
import { date, h } from "../ui.js";

export default async function totpDeadline(me) {
  if (!me.totp_due_by || location.pathname === "/two-factor") return null;
  return h("div", { class: "notice warn", role: "status", "data-testid": "totp-deadline" },
    `Set up two-factor authentication by ${date(me.totp_due_by)}. `,
    h("a", { href: "/two-factor", "data-link": true }, "Set it up now"));
}
