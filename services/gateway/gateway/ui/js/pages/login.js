// Log in: password, then the authenticator code step, or the TOTP setup step
// (QR code, the secret as text, the code) ending with the recovery codes, shown once.
import { post } from "../api.js";
import { field, fill, form, h, notice } from "../ui.js";

function svgImage(svg) {
  const url = `data:image/svg+xml;base64,${btoa(unescape(encodeURIComponent(svg)))}`;
  return h("img", { src: url, alt: "QR code to scan with your authenticator app", width: 224, height: 224 });
}

export default function login(context) {
  const next = context.query.get("next");
  const destination = next && next.startsWith("/") && !next.startsWith("//") ? next : "/dashboard";
  const card = h("section", { class: "card narrow", "aria-labelledby": "login-title" });

  async function finish(answer) {
    await context.signedIn();
    if (answer.recovery_codes?.length) return showRecoveryCodes(answer.recovery_codes);
    context.navigate(destination, { replace: true });
  }

  function show(...children) {
    fill(card, ...children);
    card.querySelector("input")?.focus();
  }

  function passwordStep() {
    show(
      h("h2", { id: "login-title" }, "Log in"),
      context.query.get("expired") ? notice("Your session has ended. Log in again to continue.", "warn") : null,
      form({
        fields: [
          field("Email", "email", { type: "email", autocomplete: "username", required: true }),
          field("Password", "password", { type: "password", autocomplete: "current-password", required: true }),
        ],
        submitLabel: "Log in",
        busyLabel: "Logging in…",
        submit: async ({ email, password }) => {
          const answer = await post("/api/auth/login", { email, password });
          if (answer.status === "ok") return finish(answer);
          if (answer.status === "totp_required") return codeStep(answer.challenge);
          return setupStep(answer.challenge);
        },
      }),
      h("p", {}, "New to Tollgate? ", h("a", { href: "/signup", "data-link": true }, "Create an account")));
  }

  function codeStep(challenge) {
    show(
      h("h2", { id: "login-title" }, "Two-factor authentication"),
      h("p", {}, "Enter the 6-digit code from your authenticator app, or one of your recovery codes."),
      form({
        fields: [field("Authentication code", "code", { autocomplete: "one-time-code", inputmode: "numeric", required: true })],
        submitLabel: "Verify",
        busyLabel: "Verifying…",
        submit: async ({ code }) => finish(await post("/api/auth/totp/verify", { challenge, code })),
      }));
  }

  async function setupStep(challenge) {
    const setup = await post("/api/auth/totp/setup", { challenge });
    show(
      h("h2", { id: "login-title" }, "Set up two-factor authentication"),
      h("p", {}, "Your account requires an authenticator app (Google Authenticator, Authy, 1Password, …). ",
        "Scan the QR code with it, then enter the 6-digit code it shows."),
      h("div", { class: "qr" }, svgImage(setup.qr_svg)),
      h("p", {}, "Cannot scan? Enter this secret in the app instead:"),
      h("p", {}, h("code", { class: "secret", "data-testid": "totp-secret" }, setup.secret)),
      form({
        fields: [field("Code from the app", "code", { autocomplete: "one-time-code", inputmode: "numeric", required: true })],
        submitLabel: "Verify and continue",
        busyLabel: "Verifying…",
        submit: async ({ code }) => finish(await post("/api/auth/totp/verify", { challenge: setup.challenge, code })),
      }));
  }

  function showRecoveryCodes(codes) {
    const text = codes.join("\n");
    const copied = h("span", { class: "muted", role: "status" });
    show(
      h("h2", { id: "login-title" }, "Save your recovery codes"),
      notice("These codes are shown only now. Each one logs you in once if you lose your phone. Keep them somewhere safe.", "warn"),
      h("ul", { class: "codes", "aria-label": "Recovery codes" }, codes.map((code) => h("li", {}, code))),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "secondary", onclick: async () => {
          try { await navigator.clipboard.writeText(text); copied.textContent = "Copied."; }
          catch { copied.textContent = "Copying is not allowed here; download them instead."; }
        } }, "Copy"),
        h("a", { class: "button secondary", download: "tollgate-recovery-codes.txt",
          href: `data:text/plain;charset=utf-8,${encodeURIComponent(text + "\n")}` }, "Download"),
        copied),
      h("div", { class: "actions" },
        h("button", { type: "button", onclick: () => context.navigate(destination, { replace: true }) }, "I have saved them — continue")));
  }

  passwordStep();
  return card;
}
