// Offline payments finance rejected that the user has not dismissed yet, for the dashboard. Which ones were
// seen is remembered in this browser (localStorage): the API has no per-user "seen" state.
import { get } from "./api.js";
import { date, h, money } from "./ui.js";

const SEEN = "tollgate.seen-rejections";

function seen() {
  try { return new Set(JSON.parse(localStorage.getItem(SEEN) || "[]")); } catch { return new Set(); }
}

function markSeen(id) {
  const ids = [...seen(), id].slice(-200); // bounded: the newest rejections are what the dashboard shows
  try { localStorage.setItem(SEEN, JSON.stringify(ids)); } catch { /* private mode: shown again next time */ }
}

/** A notice per recent rejection not yet dismissed (the newest page of requests), or null. */
export async function rejectedPayments() {
  const list = await get("/api/billing/offline-payments?page_size=20");
  const dismissed = seen();
  const rejected = list.items.filter((item) => item.status === "rejected" && !dismissed.has(item.id));
  if (!rejected.length) return null;
  const cards = rejected.map((item) => {
    const card = h("div", { class: "notice bad", role: "alert" },
      h("p", {}, `Finance did not accept your offline payment of ${money(item.amount)} `,
        `(reference ${item.reference}, paid on ${date(item.paid_on)}).`),
      h("p", {}, "Reason: ", h("strong", {}, item.reason || "none given")),
      h("div", { class: "actions" },
        h("a", { class: "button", href: "/billing/add-credits?tab=offline", "data-link": true }, "Report the payment again"),
        h("button", { type: "button", class: "secondary", onclick: () => dismiss(item.id, card) }, "Dismiss")));
    return card;
  });
  const box = h("section", { "aria-labelledby": "rejections-title", "data-testid": "rejections" },
    h("h3", { id: "rejections-title" }, "Offline payments not accepted"), cards);
  function dismiss(id, card) {
    markSeen(id);
    card.remove();
    if (!box.querySelector(".notice")) box.remove();
  }
  return box;
}
