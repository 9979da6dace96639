// IP Restrictions (administrators): the ranges users may connect from.
// A change that would shut out the administrator's own address is refused by auth
// (409 self_lockout) until it is sent again with confirm_self_lockout: the page shows
// the warning and sends it again only after "I understand".
import { ApiError, del, get, patch, post } from "../api.js";
import { cancelOnEscape, confirmation, field, fill, form, h, notice, refocus, table } from "../ui.js";

const PAGE_SIZE = 100; // the API's largest page; accounts keep a handful of rules

function isLockout(error) {
  return error instanceof ApiError && error.status === 409 && error.code === "self_lockout";
}

function describe(rule) {
  return `${rule.start_ip} – ${rule.end_ip}`;
}

export default async function ipRestrictions() {
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

  /** The self-lockout warning in `slot`; `proceed` repeats the change with the confirmation. */
  function warn(slot, error, { what, anyway, proceed, cancel = () => {}, opener = document.activeElement }) {
    const go = h("button", { type: "button", class: "danger", onclick: async () => {
      go.disabled = true;
      try {
        await proceed();
        slot.replaceChildren();
      } catch (again) {
        slot.replaceChildren();
        said(again.message, "bad");
        cancel();
      }
    } }, anyway);
    const address = error.problem.your_ip || yourIp.textContent;
    // Cancel or Escape: focus goes back to the button that made the change.
    const back = () => { slot.replaceChildren(); cancel(); refocus(opener, document.getElementById("view")); };
    const panel = h("div", { class: "notice warn lockout", role: "alert", tabindex: "-1", "data-testid": "lockout-warning" },
      h("p", {}, h("strong", {}, "This would lock you out.")),
      h("p", {}, `${what} leaves your current address ${address} outside every enabled rule that applies to you. `,
        "Tollgate would refuse your requests from that address at once, this page included; ",
        "only someone connecting from an allowed address could undo it."),
      h("div", { class: "actions" },
        go,
        h("button", { type: "button", class: "secondary", onclick: back }, "Cancel")));
    fill(slot, cancelOnEscape(panel, back));
    panel.focus();
  }

  async function setEnabled(button, rule, enabled) {
    result.replaceChildren();
    listWarning.replaceChildren();
    const send = (confirm) => patch(`/api/account/ip-restrictions/${rule.id}`, { enabled, confirm_self_lockout: confirm });
    const done = async (saved) => {
      said(`The rule ${describe(saved)} is ${saved.enabled ? "enabled" : "disabled"}.`);
      rules = rules.map((r) => (r.id === saved.id ? saved : r));
      await reload();
    };
    button.disabled = true;
    try {
      await done(await send(false));
    } catch (error) {
      if (!isLockout(error)) return said(error.message, "bad");
      warn(listWarning, error, {
        what: `${enabled ? "Enabling" : "Disabling"} the rule ${describe(rule)}`,
        anyway: `I understand, ${enabled ? "enable" : "disable"} anyway`,
        proceed: async () => done(await send(true)),
        opener: button,
      });
    } finally {
      button.disabled = false;
    }
  }

  async function remove(button, rule, restore) {
    result.replaceChildren();
    listWarning.replaceChildren();
    const send = (confirm) => del(`/api/account/ip-restrictions/${rule.id}${confirm ? "?confirm_self_lockout=true" : ""}`);
    const done = async () => {
      said(`The rule ${describe(rule)} is deleted.`);
      rules = rules.filter((r) => r.id !== rule.id);
      await reload();
    };
    button.disabled = true;
    try {
      await send(false);
      await done();
    } catch (error) {
      restore();
      if (!isLockout(error)) return said(error.message, "bad");
      warn(listWarning, error, {
        what: `Deleting the rule ${describe(rule)}`,
        anyway: "I understand, delete anyway",
        proceed: async () => { await send(true); await done(); },
      });
    }
  }

  function row(rule) {
    const actions = h("td", {});
    const range = describe(rule);
    function showActions() {
      fill(actions, h("div", { class: "row-actions" },
        h("button", {
          type: "button", class: "secondary", "aria-label": `${rule.enabled ? "Disable" : "Enable"} the rule ${range}`,
          onclick: (event) => setEnabled(event.currentTarget, rule, !rule.enabled),
        }, rule.enabled ? "Disable" : "Enable"),
        h("button", { type: "button", class: "danger", "aria-label": `Delete the rule ${range}`, onclick: (event) => {
          confirmation(actions, { question: "Delete this rule?", yesLabel: "Yes, delete", opener: event.currentTarget,
            onYes: (yes) => remove(yes, rule, showActions), onCancel: showActions });
        } }, "Delete")));
    }
    showActions();
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
      result.replaceChildren();
      formWarning.replaceChildren();
      const body = { user_id: user_id || null, start_ip, end_ip, description };
      const send = (confirm) => post("/api/account/ip-restrictions", { ...body, confirm_self_lockout: confirm });
      const done = async (created) => {
        element.reset();
        said(`The rule ${describe(created)} for ${created.user_id === null ? "all users" : who(created)} is saved.`);
        rules = [created, ...rules];
        await reload();
      };
      try {
        await done(await send(false));
      } catch (error) {
        if (!isLockout(error)) throw error; // field errors go next to their fields
        warn(formWarning, error, {
          what: `The rule ${start_ip} – ${end_ip}`,
          anyway: "I understand, save anyway",
          proceed: async () => done(await send(true)),
          opener: element.querySelector('button[type="submit"]'),
        });
      }
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
