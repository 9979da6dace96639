// The portal: a router over page modules, the session, and the navigation.
import { get, onSessionExpired, post } from "./api.js";
import { renderBanners } from "./banners.js";
import { blockedView, isIpRefusal } from "./ip_blocked.js";
import { add, fill, h } from "./ui.js";

// path pattern → [module, who may open it]: "public", "user" (of an account), "admin", "finance".
const ROUTES = [
  ["/login", "login.js", "public"],
  ["/signup", "signup.js", "public"],
  ["/", "dashboard.js", "user"],
  ["/dashboard", "dashboard.js", "user"],
  ["/account", "account.js", "admin"],
  ["/users", "users.js", "admin"],
  ["/ip-restrictions", "ip_restrictions.js", "admin"],
  ["/billing/add-credits", "add_credits.js", "user"],
  ["/billing/history", "history.js", "user"],
  ["/invoices", "invoices.js", "user"],
  ["/invoices/:id", "invoice.js", "user"],
  ["/certificates/orders", "orders.js", "user"],
  ["/certificates/orders/:id", "order.js", "user"],
  ["/audit-log", "audit_log.js", "admin"],
  ["/two-factor", "two_factor.js", "user"],
  ["/finance", "finance.js", "finance"],
];

const NAV = [
  ["/dashboard", "Dashboard", "user"],
  ["/billing/add-credits", "Billing & Payments", "user"],
  ["/invoices", "Invoices", "user"],
  ["/certificates/orders", "Orders", "user"],
  ["/account", "Account Configuration", "admin"],
  ["/users", "Users", "admin"],
  ["/ip-restrictions", "IP Restrictions", "admin"],
  ["/audit-log", "Audit log", "admin"],
  ["/finance", "Finance", "finance"],
];

let me = null; // GET /api/auth/me, or null without a session
let refused = null; // the last 403 ip_not_allowed of GET /api/auth/me: a session this address may not use

function match(pathname) {
  for (const [pattern, module, access] of ROUTES) {
    const names = [];
    const regex = new RegExp(`^${pattern.replace(/:(\w+)/g, (_, name) => { names.push(name); return "([^/]+)"; })}/?$`);
    const found = pathname.match(regex);
    if (found) {
      const params = Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(found[i + 1])]));
      return { module, access, params };
    }
  }
  return null;
}

function allowed(access) {
  if (access === "public") return true;
  if (!me) return false;
  if (access === "finance") return me.role === "finance";
  if (me.account_id === null) return false; // staff see only their own pages
  return access === "user" || me.role === "admin";
}

export function navigate(path, { replace = false } = {}) {
  history[replace ? "replaceState" : "pushState"]({}, "", path);
  return render();
}

/** The signed-in user; an expired access token is renewed first, so a refusal of the renewal says why. */
async function fetchMe() {
  try {
    return await get("/api/auth/me");
  } catch (error) {
    if (error.status !== 401) throw error;
    await post("/api/auth/refresh");
    return get("/api/auth/me");
  }
}

async function loadMe() {
  refused = null;
  try {
    me = await fetchMe();
  } catch (error) {
    me = null;
    if (isIpRefusal(error)) refused = error;
  }
  return me;
}

/** The IP refusal instead of the page (never a silent trip to the login). */
function showBlocked(view, error) {
  renderChrome();
  const again = h("button", { type: "button", onclick: () => location.reload() }, "Try again");
  fill(view, blockedView(error.problem, me, [again]));
}

function renderChrome() {
  const nav = document.getElementById("nav");
  const who = document.getElementById("who");
  nav.replaceChildren();
  who.replaceChildren();
  renderBanners(document.getElementById("banners"), me);
  if (!me) return;
  const items = NAV.filter(([, , access]) => allowed(access));
  add(nav, h("ul", {}, items.map(([path, text]) =>
    h("li", {}, h("a", { href: path, "data-link": true, "aria-current": location.pathname.startsWith(path) ? "page" : null }, text)))));
  add(who,
    h("span", {}, me.email),
    h("button", { class: "secondary", type: "button", onclick: logOut }, "Log out"));
}

async function logOut() {
  try { await post("/api/auth/logout"); } catch { /* the session may be gone already */ }
  me = null;
  navigate("/login", { replace: true });
}

/** Back to the login, remembering the page the user wanted. */
function toLogin() {
  const wanted = location.pathname + location.search;
  const next = wanted.startsWith("/login") ? "" : `?next=${encodeURIComponent(wanted)}`;
  me = null;
  return navigate(`/login${next}`, { replace: true });
}

let rendering = 0;
export async function render() {
  const ticket = ++rendering;
  const view = document.getElementById("view");
  const route = match(location.pathname);
  if (!route) {
    fill(view, h("h2", {}, "Page not found"), h("p", {}, h("a", { href: "/", "data-link": true }, "Go to the dashboard")));
    return;
  }
  if (route.access !== "public" && !me && !(await loadMe())) {
    if (!refused) return toLogin();
    showBlocked(view, refused);
    return focusPage(view);
  }
  if (!allowed(route.access)) {
    if (me && me.role === "finance" && route.module === "dashboard.js") return navigate("/finance", { replace: true });
    fill(view, h("h2", {}, "Not available"), h("p", {}, "Your role does not include this page."));
    renderChrome();
    return;
  }
  renderChrome();
  const page = await import(`./pages/${route.module}`);
  const context = {
    me,
    params: route.params,
    query: new URLSearchParams(location.search),
    navigate,
    signedIn: async () => { await loadMe(); },
  };
  try {
    const content = await page.default(context);
    if (ticket !== rendering) return; // the user went elsewhere meanwhile
    fill(view, content);
  } catch (error) {
    if (ticket !== rendering) return;
    if (isIpRefusal(error)) showBlocked(view, error);
    else fill(view, h("h2", {}, "Something went wrong"), h("p", { role: "alert" }, error.message || String(error)));
  }
  focusPage(view);
}

function focusPage(view) {
  const heading = view.querySelector("h2");
  if (heading) document.title = `${heading.textContent} · Tollgate`;
  // A page may name where the cursor starts (the login's first field); otherwise the page itself.
  (view.querySelector("[data-autofocus]") ?? view).focus();
}

onSessionExpired(() => { toLogin(); });

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-link]");
  if (!link || event.metaKey || event.ctrlKey || event.shiftKey || link.target) return;
  event.preventDefault();
  navigate(link.getAttribute("href"));
});
window.addEventListener("popstate", render);
render();
