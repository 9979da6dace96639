// IP Restrictions (administrators): the ranges users may connect from.
// Before a rule is added, enabled, disabled or deleted, the page asks auth whom the change
// would lock out (lockout_preview.js) and, when anyone (the administrator included), shows
// them in a confirmation; a change locking out the administrator is sent with
// confirm_self_lockout only after "I understand". Deleting always asks once more.
import { ApiError, del, get, patch, post } from "../api.js";
import { confirmInto, locksAnyoneOut, previewChange } from "../lockout_preview.js";
import { field, fill, form, h, notice, table } from "../ui.js";

const PAGE_SIZE = 100; // the API's largest page; accounts keep a handful of rules

function isLockout(error) {
  return error instanceof ApiError && error.status === 409 && error.code === "self_lockout";
}

function describe(rule) {
  return `${rule.start_ip} – ${rule.end_ip}`;
}

export default async function ipRestrictions(context) {
  const result = h("div", { "data-testid": "ip-result" });
  const formWarning = h("div", {});
  const listWarning = h("div", {});
  const listSlot = h("div", {});
  const yourIp = h("strong", { "data-testid": "your-ip" });
  let rules = [];
  let users = [];

  function said(text, kind = "good") {
    fill(result, notice(text, kind));
  }

  function who(rule) {
    if (rule.user_id === null) return "All users";
    return users.find((u) => u.id === rule.user_id)?.email ?? "A former user";
  }

  async function fetchRules() {
    const answer = await get(`/api/account/ip-restrictions?page_size=${PAGE_SIZE}`);
    rules = answer.items;
    yourIp.textContent = answer.your_ip;
  }

  async function reload() {
    try {
      await fetchRules();
    } catch (error) {
      // After a confirmed lock-out the gateway may already refuse this address: keep what we know.
      if (!(error instanceof ApiError && error.status === 403)) throw error;
      said(`Tollgate now refuses requests from your address (${yourIp.textContent}). `
        + "Connect from an allowed address to change the rules.", "bad");
    }
    render();
  }

  /**
   * Preview the change, then either do it at once (nobody would be locked out and `always` is false)
   * or ask in `slot` with the preview. `send(confirmSelfLockout)` does the change.
   * A 409 self_lockout (the rules changed since the preview) asks again, now with the administrator named.
   */
  async function guarded(slot, body, { question, anyway, always = false, send, cancel, opener = document.activeElement }) {
    const preview = await previewChange(body);
    const ask = (shown) => confirmInto(slot, shown, {
      question, anyway, yourIp: yourIp.textContent, you: context.me.user_id, proceed: send, cancel, opener,
      failed: (error) => said(error.message, "bad"),
    });
    if (always || locksAnyoneOut(preview)) return ask(preview);
    try {
      await send(false);
    } catch (error) {
      if (!isLockout(error)) throw error;
      ask({ ...preview, you_are_locked_out: true });
    }
  }

  async function setEnabled(button, rule, enabled) {
    fill(result);
    fill(listWarning);
    const range = describe(rule);
    button.disabled = true;
    try {
      await guarded(listWarning, { action: enabled ? "update" : "disable", rule_id: rule.id }, {
        question: `${enabled ? "Enable" : "Disable"} the rule ${range}?`,
        anyway: `I understand, ${enabled ? "enable" : "disable"} anyway`,
        opener: button,
        send: async (confirm) => {
          const saved = await patch(`/api/account/ip-restrictions/${rule.id}`, { enabled, confirm_self_lockout: confirm });
          said(`The rule ${describe(saved)} is ${saved.enabled ? "enabled" : "disabled"}.`);
          rules = rules.map((r) => (r.id === saved.id ? saved : r));
          await reload();
        },
      });
    } catch (error) {
      said(error.message, "bad");
    } finally {
      button.disabled = false;
    }
  }

  async function remove(button, rule) {
    fill(result);
    fill(listWarning);
    button.disabled = true;
    try {
      await guarded(listWarning, { action: "delete", rule_id: rule.id }, {
        question: `Delete the rule ${describe(rule)}?`,
        anyway: "Yes, delete",
        opener: button,
        always: true, // deleting asks once more, whoever it affects
        send: async (confirm) => {
          await del(`/api/account/ip-restrictions/${rule.id}${confirm ? "?confirm_self_lockout=true" : ""}`);
          said(`The rule ${describe(rule)} is deleted.`);
          rules = rules.filter((r) => r.id !== rule.id);
          await reload();
        },
      });
    } catch (error) {
      said(error.message, "bad");
    } finally {
      button.disabled = false;
    }
  }

  function row(rule) {
    const range = describe(rule);
    const actions = h("td", {}, h("div", { class: "row-actions" },
      h("button", {
        type: "button", class: "secondary", "aria-label": `${rule.enabled ? "Disable" : "Enable"} the rule ${range}`,
        onclick: (event) => setEnabled(event.currentTarget, rule, !rule.enabled),
      }, rule.enabled ? "Disable" : "Enable"),
      h("button", {
        type: "button", class: "danger", "aria-label": `Delete the rule ${range}`,
        onclick: (event) => remove(event.currentTarget, rule),
      }, "Delete")));
    return h("tr", { dataset: { ruleId: rule.id } },
      h("td", {}, who(rule)),
      h("td", {}, h("code", {}, rule.start_ip)),
      h("td", {}, h("code", {}, rule.end_ip)),
      h("td", {}, rule.description || h("span", { class: "muted" }, "—")),
      h("td", {}, h("span", { class: `status ${rule.enabled ? "enabled" : "disabled"}` }, rule.enabled ? "Enabled" : "Disabled")),
      actions);
  }

  function render() {
    fill(listSlot, table(
      [["User"], ["Start address"], ["End address"], ["Description"], ["Enabled"], ["Actions"]],
      rules.map(row),
      "No rules: every user may connect from any address."));
  }

  const [, usersAnswer] = await Promise.all([fetchRules(), get("/api/account/users?page_size=100")]);
  users = usersAnswer.items;
  render();

  const ruleForm = form({
    fields: [
      field("Applies to", "user_id", {
        value: "",
        options: [["", "All users"], ...users.filter((u) => u.active).map((u) => [u.id, u.email])],
      }),
      field("Allowed IP start address", "start_ip", {
        required: true, autocomplete: "off", spellcheck: "false", hint: "IPv4 (203.0.113.0) or IPv6 (2001:db8::).",
      }),
      field("Allowed IP end address", "end_ip", {
        required: true, autocomplete: "off", spellcheck: "false",
        hint: "The same family as the start, and not lower; the start address again allows just that one.",
      }),
      h("div", { class: "field" },
        h("button", { type: "button", class: "secondary", onclick: (event) => {
          const form = event.currentTarget.form;
          form.elements.start_ip.value = yourIp.textContent;
          form.elements.end_ip.value = yourIp.textContent;
          form.elements.description.focus();
        } }, "Use my current IP")),
      field("Description (optional)", "description", { maxlength: 255 }),
    ],
    submitLabel: "Add rule",
    busyLabel: "Saving…",
    submit: async ({ user_id, start_ip, end_ip, description }, element) => {
      fill(result);
      fill(formWarning);
      const body = { user_id: user_id || null, start_ip, end_ip, description };
      // The preview checks the addresses first: its field errors go next to their fields.
      await guarded(formWarning, { action: "add", user_id: body.user_id, start_ip, end_ip }, {
        question: `Add the rule ${start_ip} – ${end_ip}?`,
        anyway: "I understand, save anyway",
        send: async (confirm) => {
          const created = await post("/api/account/ip-restrictions", { ...body, confirm_self_lockout: confirm });
          element.reset();
          said(`The rule ${describe(created)} for ${created.user_id === null ? "all users" : who(created)} is saved.`);
          rules = [created, ...rules];
          await reload();
        },
      });
    },
  });

  return [
    h("h2", {}, "IP Restrictions"),
    h("p", {}, "Your current IP: ", yourIp),
    h("p", { class: "muted" },
      "A user to whom no enabled rule applies may connect from anywhere. Otherwise their address must fall inside ",
      "at least one enabled rule for them or for all users, at login and on every request."),
    result,
    h("section", { class: "card", "aria-labelledby": "ip-add-title" },
      h("h3", { id: "ip-add-title" }, "Add a rule"),
      ruleForm,
      formWarning),
    h("section", { class: "card", "aria-labelledby": "ip-list-title" },
      h("h3", { id: "ip-list-title" }, "Rules"),
      listWarning,
      listSlot),
  ];
}
