// Sign up: a new account and its first administrator, then straight in.
import { post } from "../api.js";
import { field, form, h } from "../ui.js";

export default function signup(context) {
  return h("section", { class: "card narrow", "aria-labelledby": "signup-title" },
    h("h2", { id: "signup-title" }, "Create your account"),
    form({
      fields: [
        field("Company or account name", "account_name", { autocomplete: "organization", required: true }),
        field("Your email", "email", { type: "email", autocomplete: "username", required: true }),
        field("Password", "password", { type: "password", autocomplete: "new-password", required: true,
          hint: "At least 12 characters; a passphrase is easiest to remember." }),
      ],
      submitLabel: "Create account",
      busyLabel: "Creating…",
      submit: async (values) => {
        await post("/api/accounts", values);
        const answer = await post("/api/auth/login", { email: values.email, password: values.password });
        if (answer.status !== "ok") return context.navigate("/login", { replace: true });
        await context.signedIn();
        context.navigate("/dashboard", { replace: true });
      },
    }),
    h("p", {}, "Already have an account? ", h("a", { href: "/login", "data-link": true }, "Log in")));
}
