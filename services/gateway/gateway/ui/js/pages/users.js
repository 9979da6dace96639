// Users (administrators): the account's users; add one, reset their 2FA, deactivate them.
// Destructive actions ask once more in the row itself.
import { ApiError, del, get, patch, post } from "../api.js";
import { add, confirmation, date, field, fill, form, h, notice, pager, table } from "../ui.js";

const PAGE_SIZE = 20;

/** A user's 2FA as the API says it: on, due by the grace's deadline, required at their next login, or not set up. */
function twoFactorState(user) {
  if (user.totp_state === "enrolled") return "On";
  if (user.totp_state === "due") return `Due by ${date(user.totp_due_by)}`;
  if (user.totp_state === "required") return "Required at next login";
  return "Not set up";
}

export default async function users(context) {
  const result = h("div", { "data-testid": "users-result" });
  const listSlot = h("div", {});
  let page = 1;

  function said(text, kind = "good") {
    fill(result, notice(text, kind));
  }

  async function load(wanted = page) {
    const answer = await get(`/api/account/users?page=${wanted}&page_size=${PAGE_SIZE}`);
    page = answer.page;
    fill(listSlot, [
      table(
        [["Email"], ["Role"], ["Status"], ["2FA"], ["Added"], ["Actions"]],
        answer.items.map(row),
        "No users yet."),
      pager(answer, (next) => load(next).catch((error) => said(error.message, "bad"))),
    ]);
  }

  /** Replace a row's actions with "are you sure?" and the button that does it (Escape or Cancel: back). */
  function confirmIn(cell, question, yesLabel, action, restore, opener) {
    confirmation(cell, {
      question, yesLabel, opener, onCancel: restore,
      onYes: async (yes) => {
        yes.disabled = true;
        yes.textContent = "Working…";
        try {
          await action();
        } catch (error) {
          said(error instanceof ApiError ? error.message : String(error), "bad");
          restore();
        }
      },
    });
  }

  function row(user) {
    const yourself = user.id === context.me.user_id;
    const actions = h("td", {});
    function showActions() {
      actions.replaceChildren();
      if (yourself) return add(actions, h("span", { class: "muted" }, "You"));
      if (!user.active) return add(actions, h("span", { class: "muted" }, "—"));
      add(actions, h("div", { class: "row-actions" },
        user.totp_enrolled
          ? h("button", { type: "button", class: "secondary", "aria-label": `Reset 2FA of ${user.email}`, onclick: (event) =>
              confirmIn(actions, `Reset the 2FA of ${user.email}? Their authenticator and recovery codes stop working and their sessions end.`,
                "Yes, reset 2FA", async () => {
                  await del(`/api/account/users/${user.id}/totp`);
                  said(`The 2FA of ${user.email} is reset. If 2FA is enforced, they set it up again at their next login.`);
                  await load();
                }, showActions, event.currentTarget) }, "Reset 2FA")
          : null,
        h("button", { type: "button", class: "danger", "aria-label": `Deactivate ${user.email}`, onclick: (event) =>
          confirmIn(actions, `Deactivate ${user.email}? They can no longer log in, their sessions end now, and this cannot be undone.`,
            "Yes, deactivate", async () => {
              await patch(`/api/account/users/${user.id}`, { active: false });
              said(`${user.email} is deactivated.`);
              await load();
            }, showActions, event.currentTarget) }, "Deactivate")));
    }
    showActions();
    return h("tr", { dataset: { userId: user.id } },
      h("td", {}, user.email),
      h("td", {}, user.role === "admin" ? "Administrator" : "User"),
      h("td", {}, h("span", { class: `status ${user.active ? "active" : "inactive"}` }, user.active ? "Active" : "Deactivated")),
      h("td", {}, twoFactorState(user)),
      h("td", {}, date(user.created_at)),
      actions);
  }

  const addForm = form({
    fields: [
      field("Email", "email", { type: "email", autocomplete: "off", required: true }),
      field("Initial password", "password", {
        type: "password", autocomplete: "new-password", required: true,
        hint: "Give it to them privately. A long passphrase is best; common or short passwords are refused.",
      }),
      field("Role", "role", { value: "user", options: [["user", "User"], ["admin", "Administrator"]] }),
    ],
    submitLabel: "Add user",
    busyLabel: "Adding…",
    submit: async ({ email, password, role }, element) => {
      result.replaceChildren();
      const created = await post("/api/account/users", { email, password, role });
      element.reset();
      said(`${created.email} is added. They can log in with the password you chose.`);
      await load(1);
    },
  });

  await load(1);
  return [
    h("h2", {}, "Users"),
    result,
    h("section", { class: "card", "aria-labelledby": "users-list-title" },
      h("h3", { id: "users-list-title" }, "Users of the account"),
      listSlot),
    h("section", { class: "card", "aria-labelledby": "users-add-title" },
      h("h3", { id: "users-add-title" }, "Add a user"),
      addForm),
  ];
}
