// Setting up an authenticator: the steps login.js (enrolment at login) and
// pages/two_factor.js (enrolment of one's own accord) share. The caller has already
// called POST /api/auth/totp/setup and passes its answer; `verify(code)` confirms.
import { field, fill, form, h, notice } from "./ui.js";

function svgImage(svg) {
  const url = `data:image/svg+xml;base64,${btoa(unescape(encodeURIComponent(svg)))}`;
  return h("img", { src: url, alt: "QR code to scan with your authenticator app", width: 224, height: 224 });
}

/** The secret in groups of four, as people read and type it: spaced apart by the style sheet, so the
 * text itself (selected by hand, or read by a test) stays the secret without spaces. */
function grouped(secret) {
  return secret.match(/.{1,4}/g).map((group) => h("span", {}, group));
}

/** A Copy button for `text`, saying in `status` whether it worked. */
function copyButton(label, text, status, accessibleName) {
  return h("button", { type: "button", class: "secondary", "aria-label": accessibleName, onclick: async () => {
    try { await navigator.clipboard.writeText(text); status.textContent = "Copied."; }
    catch { status.textContent = "Copying is not allowed here; select the text instead."; }
  } }, label);
}

/** Focus `input` with all its text selected, so a wrong code is typed over. */
function selectForRetyping(input) {
  input.focus();
  input.select();
}

/**
 * The setup step: who it is for, the QR code, the secret with Copy, the code form and a way out.
 * `verify(code)` resolves when enrolment is done; `cancel` ({label, hint, run}) leaves the step.
 */
export function setupStep(setup, { intro, verify, cancel }) {
  const copied = h("span", { class: "muted", role: "status" });
  const secret = h("code", { class: "secret", "data-testid": "totp-secret" }, grouped(setup.secret));
  const forWhom = setup.account_name
    ? ["For ", h("strong", {}, setup.email), " in the account ", h("strong", { "data-testid": "totp-account" }, setup.account_name), "."]
    : ["For ", h("strong", {}, setup.email), "."];
  const codeForm = form({
    fields: [field("Code from the app", "code", {
      autocomplete: "one-time-code", inputmode: "numeric", required: true, dataset: { autofocus: "" },
    })],
    submitLabel: "Verify and continue",
    busyLabel: "Verifying…",
    submit: async ({ code }, element) => {
      try {
        await verify(code);
      } catch (error) {
        selectForRetyping(element.elements.code);
        throw error;
      }
    },
    secondary: h("button", { type: "button", class: "secondary", onclick: cancel.run }, cancel.label),
  });
  return [
    h("h2", { id: "login-title" }, "Set up two-factor authentication"),
    h("p", { "data-testid": "totp-for" }, ...forWhom),
    h("p", {}, intro, " Scan the QR code with your authenticator app (Google Authenticator, Authy, 1Password, …), ",
      "then enter the 6-digit code it shows."),
    h("div", { class: "qr" }, svgImage(setup.qr_svg)),
    h("p", {}, "Cannot scan? Enter this secret in the app instead:"),
    h("div", { class: "actions secret-row" },
      secret,
      copyButton("Copy", setup.secret, copied, "Copy the secret"),
      copied),
    codeForm,
    cancel.hint ? h("p", { class: "muted" }, cancel.hint) : null,
  ];
}

/** The recovery codes, shown once; focus goes to the step's heading so a screen reader starts there. */
export function recoveryCodesStep(codes, onContinue) {
  const text = codes.join("\n");
  const copied = h("span", { class: "muted", role: "status" });
  const heading = h("h2", { id: "login-title", tabindex: "-1", dataset: { autofocus: "" } }, "Save your recovery codes");
  return [
    heading,
    notice("These codes are shown only now. Each one logs you in once if you lose your phone. Keep them somewhere safe.", "warn"),
    h("ul", { class: "codes", "aria-label": "Recovery codes" }, codes.map((code) => h("li", {}, code))),
    h("div", { class: "actions" },
      copyButton("Copy", text, copied, "Copy the recovery codes"),
      h("a", { class: "button secondary", download: "tollgate-recovery-codes.txt",
        href: `data:text/plain;charset=utf-8,${encodeURIComponent(text + "\n")}` }, "Download"),
      copied),
    h("div", { class: "actions" },
      h("button", { type: "button", onclick: onContinue }, "I have saved them — continue")),
  ];
}

/** Put `children` in `card` and move focus where the step wants it: its marked element, else its first field. */
export function showIn(card, children) {
  fill(card, children);
  const target = card.querySelector("[data-autofocus]") ?? card.querySelector("input");
  target?.focus();
}
