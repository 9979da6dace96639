// Small DOM helpers: elements, forms whose errors sit next to their fields, money.

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  return appendTo(element, children);
}

/** Children as h() takes them: nested arrays flattened; null, undefined, false and "" left out; the rest as nodes. */
function nodes(children) {
  return children.flat(Infinity)
    .filter((child) => child !== undefined && child !== null && child !== false && child !== "")
    .map((child) => (child instanceof Node ? child : document.createTextNode(String(child))));
}

function appendTo(element, children) {
  element.append(...nodes(children));
  return element;
}

/**
 * Replaces `element`'s content with `children`, taken as h() takes them. The DOM's own
 * replaceChildren()/append() print a null or false child as the text "null"/"false": pages
 * use fill() (and h()) instead, so a child left out by a condition leaves nothing behind.
 */
export function fill(element, ...children) {
  element.replaceChildren(...nodes(children));
  return element;
}

/** Adds `children` at the end of `element`, taken as h() takes them (see fill()). */
export function add(element, ...children) {
  return appendTo(element, children);
}

let currency = "INR";
/** The account's currency, set once the balance is known. */
export function useCurrency(code) { if (code) currency = code; }

/** Money strings from the API ("1180.00") in the account's currency; never through a float's arithmetic. */
export function money(amount, code = currency) {
  if (amount === null || amount === undefined || amount === "") return "";
  const [whole, fraction = "00"] = String(amount).split(".");
  const negative = whole.startsWith("-");
  const digits = negative ? whole.slice(1) : whole;
  // Indian grouping for INR (12,34,567.00), thousands elsewhere.
  const grouped = code === "INR"
    ? digits.replace(/(\d)(?=(\d\d)+\d$)/g, "$1,")
    : digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const symbol = { INR: "₹", USD: "$", EUR: "€", GBP: "£" }[code];
  const text = `${symbol ?? code + " "}${grouped}.${fraction.padEnd(2, "0").slice(0, 2)}`;
  return negative ? `−${text}` : text;
}

export function date(value) {
  if (!value) return "";
  const parsed = new Date(value.length === 10 ? `${value}T00:00:00` : value);
  return parsed.toLocaleDateString("en-IN", { year: "numeric", month: "short", day: "numeric" });
}

export function status(text) {
  return h("span", { class: `status ${text}` }, String(text).replaceAll("_", " "));
}

let fieldCounter = 0;
/** A labelled field; `name` is the API's field name, so 422 errors land under it. */
export function field(label, name, { type = "text", value = "", hint, options, required, ...rest } = {}) {
  const id = `f-${name}-${++fieldCounter}`;
  const describedBy = [`${id}-error`, hint ? `${id}-hint` : null].filter(Boolean).join(" ");
  let control;
  if (options) {
    control = h("select", { id, name, required, "aria-describedby": describedBy, ...rest },
      options.map(([optionValue, text]) => h("option", { value: optionValue, selected: optionValue === value }, text)));
  } else if (type === "textarea") {
    control = h("textarea", { id, name, required, "aria-describedby": describedBy, rows: 3, ...rest }, value);
  } else {
    control = h("input", { id, name, type, value, required, "aria-describedby": describedBy, ...rest });
  }
  return h("div", { class: "field" },
    h("label", { for: id }, label),
    control,
    hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null,
    h("p", { class: "error", id: `${id}-error`, role: "alert", dataset: { errorFor: name } }));
}

export function checkbox(label, name, checked, hint) {
  const id = `f-${name}-${++fieldCounter}`;
  return h("div", { class: "field" },
    h("label", { class: "check", for: id }, h("input", { id, name, type: "checkbox", checked }), label),
    hint ? h("p", { class: "hint" }, hint) : null,
    h("p", { class: "error", role: "alert", dataset: { errorFor: name } }));
}

/**
 * A form that calls `submit(values)`; while it runs the button shows `busy`, and an
 * ApiError's field messages appear next to their fields (the rest above the button).
 */
export function form({ fields, submitLabel, busyLabel = "Working…", submit, secondary }) {
  const message = h("p", { class: "error", role: "alert", dataset: { errorFor: "_form" } });
  const button = h("button", { type: "submit" }, submitLabel);
  const element = h("form", { novalidate: true }, fields, message, h("div", { class: "actions" }, button, secondary));
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(element);
    const values = {};
    for (const control of element.elements) {
      if (!control.name) continue;
      values[control.name] = control.type === "checkbox" ? control.checked : control.value.trim();
    }
    button.disabled = true;
    const label = button.textContent;
    button.textContent = busyLabel;
    element.setAttribute("aria-busy", "true");
    try {
      await submit(values, element);
    } catch (error) {
      showErrors(element, error);
    } finally {
      button.disabled = false;
      button.textContent = label;
      element.removeAttribute("aria-busy");
    }
  });
  return element;
}

export function clearErrors(element) {
  element.querySelectorAll("[data-error-for]").forEach((node) => { node.textContent = ""; });
  element.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
}

/** An API message about a field ("must be filled in") as the portal shows it: "Must be filled in". */
function sentence(text) {
  const trimmed = String(text || "").trim();
  return trimmed ? trimmed[0].toUpperCase() + trimmed.slice(1) : "";
}

/**
 * Every field's message next to its field (the first wrong field focused); messages about
 * fields the form does not show, or an error about no field, above the button.
 */
export function showErrors(element, error) {
  const fields = error.fields || {};
  const elsewhere = [];
  let first = null;
  for (const [name, text] of Object.entries(fields)) {
    const slot = element.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
    if (!slot) {
      elsewhere.push(`${name.replaceAll("_", " ").replace(/^./, (c) => c.toUpperCase())}: ${text}`);
      continue;
    }
    slot.textContent = sentence(text);
    const control = element.querySelector(`[name="${CSS.escape(name)}"]`);
    control?.setAttribute("aria-invalid", "true");
    first ??= control;
  }
  first?.focus();
  const above = element.querySelector('[data-error-for="_form"]');
  if (!above) return;
  if (elsewhere.length) above.textContent = elsewhere.map((text) => `${sentence(text).replace(/[.]$/, "")}.`).join(" ");
  else if (!first) above.textContent = error.message || String(error);
}

export function table(headers, rows, empty = "Nothing here yet.") {
  if (!rows.length) return h("p", { class: "muted" }, empty);
  const heads = headers.map(([text, cls]) => h("th", { scope: "col", class: cls, role: "columnheader" }, text));
  // On a phone each row reads as a card: every cell carries its column's name (app.css shows it).
  // The explicit roles keep it a table for screen readers once CSS displays its parts as blocks.
  for (const row of rows) {
    row.setAttribute("role", "row");
    [...row.children].forEach((cell, i) => {
      if (!cell.hasAttribute("role")) cell.setAttribute("role", cell.tagName === "TH" ? "rowheader" : "cell");
      if (heads[i] && !cell.dataset.label) cell.dataset.label = heads[i].textContent;
    });
  }
  return h("div", { class: "table-wrap" }, h("table", { class: "cards", role: "table" },
    h("thead", { role: "rowgroup" }, h("tr", { role: "row" }, heads)),
    h("tbody", { role: "rowgroup" }, rows)));
}

/**
 * Says `text` to screen readers through the polite live region of index.html, which is on the
 * page before the message (a region inserted together with its text is often not announced).
 * The text said last is not said again: a poll redrawing the same message, or a banner shown
 * above every page, is announced once, not at each redraw.
 */
export function announce(text) {
  const region = document.getElementById("announcer");
  const said = String(text ?? "").trim();
  if (!region || !said || region.textContent === said) return;
  region.textContent = said;
}

/** A message on the page; a problem is an alert, anything else is said through the live region. */
export function notice(text, kind = "") {
  const element = h("div", { class: `notice ${kind}`, role: kind === "bad" ? "alert" : null }, text);
  if (kind !== "bad") announce(element.textContent);
  return element;
}

/** Escape in `element` calls `cancel` (a confirmation, a warning that asks before going on). */
export function cancelOnEscape(element, cancel) {
  element.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    event.preventDefault();
    event.stopPropagation();
    cancel();
  });
  return element;
}

/** Focus back on `opener`, or on the button that replaced it (same name) inside `scope`. */
export function refocus(opener, scope) {
  if (!opener) return;
  if (opener.isConnected) { opener.focus(); return; }
  const name = opener.getAttribute("aria-label") || opener.textContent;
  const again = [...(scope?.querySelectorAll("button, a") ?? [])]
    .find((b) => (b.getAttribute("aria-label") || b.textContent) === name);
  again?.focus();
}

/**
 * "Are you sure?" in place of `slot`'s content: the question, a Yes button and Cancel. Escape or
 * Cancel calls `onCancel` (which puts back what was there) and focus returns to `opener`, the button
 * that asked; Yes runs `onYes`. Focus starts on Yes.
 */
export function confirmation(slot, { question, yesLabel, onYes, onCancel, opener, details = null }) {
  const yes = h("button", { type: "button", class: "danger", onclick: () => onYes(yes) }, yesLabel);
  const cancel = () => { onCancel(); refocus(opener, slot); };
  const group = cancelOnEscape(h("div", { class: "confirm", role: "group", "aria-label": question },
    h("span", {}, question), details, yes,
    h("button", { type: "button", class: "secondary", onclick: cancel }, "Cancel")), cancel);
  fill(slot, group);
  yes.focus();
  return { yes, cancel };
}

export function pager(page, onPage) {
  const pages = Math.max(1, Math.ceil(page.total / page.page_size));
  if (pages <= 1) return "";
  return h("div", { class: "actions" },
    h("button", { class: "secondary", disabled: page.page <= 1, onclick: () => onPage(page.page - 1) }, "Previous"),
    h("span", { class: "muted" }, `Page ${page.page} of ${pages}`),
    h("button", { class: "secondary", disabled: page.page >= pages, onclick: () => onPage(page.page + 1) }, "Next"));
}
