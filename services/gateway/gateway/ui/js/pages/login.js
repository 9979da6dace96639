// Log in: password, then the authenticator code step, or the TOTP setup step
// (QR code, the secret as text, the code) ending with the recovery codes, shown once.
import { post } from "../api.js";
import { blockedView, isIpRefusal } from "../ip_blocked.js";
import { recoveryCodesStep, setupStep, showIn } from "../totp_enrolment.js";
import { field, form, h, notice } from "../ui.js";

export default function login(context) {
  const next = context.query.get("next");
  const destination = next && next.startsWith("/") && !next.startsWith("//") ? next : "/dashboard";
  const card = h("section", { class: "card narrow", "aria-labelledby": "login-title" });
  const show = (...children) => showIn(card, children);

  async function finish(answer) {
    await context.signedIn();
    if (answer.recovery_codes?.length) {
      return show(recoveryCodesStep(answer.recovery_codes, () => context.navigate(destination, { replace: true })));
    }
    context.navigate(destination, { replace: true });
  }

  /** A code form whose wrong code is selected for retyping. */
  function codeForm(label, submitLabel, send) {
    return form({
      fields: [field(label, "code", { autocomplete: "one-time-code", inputmode: "numeric", required: true })],
      submitLabel,
      busyLabel: "Verifying…",
      submit: async ({ code }, element) => {
        try {
          await send(code);
        } catch (error) {
          element.elements.code.focus();
          element.elements.code.select();
          throw error;
        }
      },
    });
  }

  function passwordStep(message) {
    show(
      h("h2", { id: "login-title" }, "Log in"),
      context.query.get("expired") ? notice("Your session has ended. Log in again to continue.", "warn") : null,
      message ? notice(message) : null,
      form({
        fields: [
          field("Email", "email", { type: "email", autocomplete: "username", required: true, dataset: { autofocus: "" } }),
          field("Password", "password", { type: "password", autocomplete: "current-password", required: true }),
        ],
        submitLabel: "Log in",
        busyLabel: "Logging in…",
        submit: async ({ email, password }) => {
          let answer;
          try {
            answer = await post("/api/auth/login", { email, password });
          } catch (error) {
            if (!isIpRefusal(error)) throw error;
            const back = h("button", { type: "button", class: "secondary", onclick: () => passwordStep() }, "Back to log in");
            return show(blockedView(error.problem, null, [back], "login-title"));
          }
          if (answer.status === "ok") return finish(answer);
          if (answer.status === "totp_required") return codeStep(answer.challenge);
          return enrolStep(answer.challenge);
        },
      }),
      h("p", {}, "New to Tollgate? ", h("a", { href: "/signup", "data-link": true }, "Create an account")));
  }

  function codeStep(challenge) {
    show(
      h("h2", { id: "login-title" }, "Two-factor authentication"),
      h("p", {}, "Enter the 6-digit code from your authenticator app, or one of your recovery codes."),
      codeForm("Authentication code", "Verify", async (code) => finish(await post("/api/auth/totp/verify", { challenge, code }))),
      h("div", { class: "actions" }, h("button", { type: "button", class: "secondary", onclick: () => passwordStep() }, "Cancel")));
  }

  async function enrolStep(challenge) {
    const setup = await post("/api/auth/totp/setup", { challenge });
    show(setupStep(setup, {
      intro: "Your account requires an authenticator app before you can continue.",
      verify: async (code) => finish(await post("/api/auth/totp/verify", { challenge: setup.challenge, code })),
      cancel: {
        label: "Cancel and log out",
        hint: "Cancelling ends this login; you are asked to set up the app again at your next login.",
        run: () => passwordStep("Login cancelled. You have not been logged in."),
      },
    }));
  }

  passwordStep();
  return card;
}
