// The lockout preview of IP Restrictions: before a rule is added, enabled, disabled or deleted,
// POST /api/account/ip-restrictions/preview says whom the change would lock out (judged by the
// addresses each user logged in from in the last 30 days) and whether it would lock out the
// administrator making it. The confirmation shows both; the self-lockout confirmation is part of it.
import { post } from "./api.js";
import { cancelOnEscape, date, fill, h, refocus } from "./ui.js";

export const previewChange = (body) => post("/api/account/ip-restrictions/preview", body);

/** Whether the preview finds anyone, the administrator included. */
export function locksAnyoneOut(preview) {
  return preview.you_are_locked_out || preview.locked_out.length > 0;
}

function lockedOutList(preview, you) {
  if (!preview.locked_out.length) return null;
  return [
    h("p", {}, h("strong", {}, `This would lock out ${preview.locked_out.length === 1 ? "1 user" : `${preview.locked_out.length} users`}:`)),
    h("ul", { "data-testid": "locked-out" }, preview.locked_out.map((user) =>
      h("li", {}, user.email, user.user_id === you ? " — you" : "",
        ` (last seen from ${user.last_seen_ip} on ${date(user.last_seen_at)})`))),
  ];
}

function yourself(preview, yourIp) {
  if (!preview.you_are_locked_out) return null;
  return [
    h("p", {}, h("strong", {}, "This would lock you out.")),
    h("p", {}, `Your current address ${yourIp} would be outside every enabled rule that applies to you. `,
      "Tollgate would refuse your requests from that address at once, this page included; ",
      "only someone connecting from an allowed address could undo it."),
  ];
}

/**
 * The confirmation in `slot`: `question` ("Delete the rule …?"), who would be locked out, and the
 * buttons (`you`: the administrator's user id, marked in the list). `proceed(confirmSelfLockout)`
 * does the change; Cancel or Escape runs `cancel` and puts focus back on `opener`, the button that asked.
 * Focus starts on the warning when anyone would be locked out (it is read first), else on the Yes button.
 */
export function confirmInto(slot, preview, { question, anyway, yourIp, you, proceed, cancel = () => {}, failed, opener }) {
  const nobody = !locksAnyoneOut(preview);
  const go = h("button", { type: "button", class: nobody ? "" : "danger", onclick: async () => {
    go.disabled = true;
    try {
      await proceed(preview.you_are_locked_out);
      fill(slot);
    } catch (error) {
      fill(slot);
      failed(error);
      cancel();
    }
  } }, anyway);
  const back = () => { fill(slot); cancel(); refocus(opener, document.getElementById("view")); };
  const panel = h("div", {
    class: `notice ${nobody ? "" : "warn "}lockout`, role: "alert", tabindex: "-1", "data-testid": "lockout-warning",
  },
  question ? h("p", {}, h("strong", {}, question)) : null,
  lockedOutList(preview, you),
  yourself(preview, yourIp),
  nobody ? h("p", {}, "Nobody who logged in during the last 30 days would be locked out.") : null,
  h("p", { class: "muted" }, "Judged by the addresses each user logged in from in the last 30 days."),
  h("div", { class: "actions" },
    go,
    h("button", { type: "button", class: "secondary", onclick: back }, "Cancel")));
  fill(slot, cancelOnEscape(panel, back));
  (nobody ? go : panel).focus();
}
