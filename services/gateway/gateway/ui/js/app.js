// The portal: a router over page modules, the session, and the navigation.
import { get, onSessionExpired, post } from "./api.js";
import { renderBanners } from "./banners.js";
import { h } from "./ui.js";

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
  ["/certificates/orders", "orders.js", "user"],
  ["/certificates/orders/:id", "order.js", "user"],
  ["/audit-log", "audit_log.js", "admin"],
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

async function loadMe() {
  try {
    me = await get("/api/auth/me");
  } catch {
    me = null;
  }
  return me;
}

function renderChrome() {
  const nav = document.getElementById("nav");
  const who = document.getElementById("who");
  nav.replaceChildren();
  who.replaceChildren();
  renderBanners(document.getElementById("banners"), me);
  if (!me) return;
  const items = NAV.filter(([, , access]) => allowed(access));
  nav.append(h("ul", {}, items.map(([path, text]) =>
    h("li", {}, h("a", { href: path, "data-link": true, "aria-current": location.pathname.startsWith(path) ? "page" : null }, text)))));
  who.append(
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
    view.replaceChildren(h("h2", {}, "Page not found"), h("p", {}, h("a", { href: "/", "data-link": true }, "Go to the dashboard")));
    return;
  }
  if (route.access !== "public" && !me && !(await loadMe())) return toLogin();
  if (!allowed(route.access)) {
    if (me && me.role === "finance" && route.module === "dashboard.js") return navigate("/finance", { replace: true });
    view.replaceChildren(h("h2", {}, "Not available"), h("p", {}, "Your role does not include this page."));
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
    view.replaceChildren(...[content].flat().filter((node) => node !== null && node !== undefined && node !== false));
  } catch (error) {
    if (ticket !== rendering) return;
    view.replaceChildren(h("h2", {}, "Something went wrong"), h("p", { role: "alert" }, error.message || String(error)));
  }
  const heading = view.querySelector("h2");
  if (heading) document.title = `${heading.textContent} · Tollgate`;
  view.focus();
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
