// Two-factor authentication of one's own accord: a signed-in user sets up an authenticator
// before their account's deadline (or without one). POST /api/auth/totp/setup with the
// session opens the enrolment; verifying the first code gives the recovery codes.
import { post } from "../api.js";
import { recoveryCodesStep, setupStep, showIn } from "../totp_enrolment.js";
import { date, fill, h, notice } from "../ui.js";

export default function twoFactor(context) {
  const card = h("section", { class: "card narrow", "aria-labelledby": "login-title" });
  const show = (...children) => showIn(card, children);
  const leave = () => context.navigate("/dashboard");

  function start() {
    const due = context.me.totp_due_by;
    const failed = h("div", {});
    const begin = h("button", { type: "button", dataset: { autofocus: "" }, onclick: async () => {
      begin.disabled = true;
      try {
        enrol(await post("/api/auth/totp/setup", {}));
      } catch (error) {
        begin.disabled = false;
        fill(failed, notice(error.message, "bad"));
      }
    } }, "Set up an authenticator app");
    return [
      h("h2", { id: "login-title" }, "Two-factor authentication"),
      due
        ? h("p", { "data-testid": "totp-due" }, "Your account asks everyone to set up an authenticator app by ",
          h("strong", {}, date(due)), ". After that date, logging in without it is no longer possible.")
        : h("p", {}, "An authenticator app on your phone makes your login need a code only you have."),
      failed,
      h("div", { class: "actions" }, begin),
    ];
  }

  function enrol(setup) {
    show(setupStep(setup, {
      intro: "Nothing changes until you enter the first code.",
      verify: async (code) => {
        const answer = await post("/api/auth/totp/verify", { challenge: setup.challenge, code });
        await context.signedIn(); // the new session, with the code: the deadline is gone
        show(recoveryCodesStep(answer.recovery_codes, leave));
      },
      cancel: { label: "Cancel", run: () => show(start()) },
    }));
  }

  if (context.me.totp_enrolled) {
    show(
      h("h2", { id: "login-title" }, "Two-factor authentication"),
      notice("Two-factor authentication is on: every login asks for a code from your authenticator app.", "good"));
  } else {
    show(start());
  }
  return card;
}
