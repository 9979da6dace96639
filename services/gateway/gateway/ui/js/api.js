// The public API through the gateway. The session lives in HttpOnly cookies set
// by auth; nothing secret is kept by this script. Unsafe requests echo the
// tg_csrf cookie in X-CSRF-Token (double submit).

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `The request failed (${status}).`);
    this.status = status;
    this.problem = problem;
    this.code = problem.code || "";
    // {field: message} from a 422's `errors`, so forms show them next to the field.
    this.fields = {};
    for (const error of problem.errors || []) {
      const name = String(error.field || "").split(".").pop();
      if (name && !this.fields[name]) this.fields[name] = error.message;
    }
  }
}

function csrfToken() {
  const cookie = document.cookie.split("; ").find((c) => c.startsWith("tg_csrf="));
  return cookie ? decodeURIComponent(cookie.slice("tg_csrf=".length)) : "";
}

let refreshing = null;

async function refreshSession() {
  // One refresh at a time, however many requests found the access token expired.
  // Answers true, or the refusal's problem when the session may not be renewed from this address.
  refreshing ??= fetch("/api/auth/refresh", {
    method: "POST",
    headers: { "X-CSRF-Token": csrfToken() },
    credentials: "same-origin",
  }).then(async (r) => r.ok || (r.status === 403 ? r.json().catch(() => false) : false))
    .catch(() => false).finally(() => { refreshing = null; });
  return refreshing;
}

const listeners = new Set();
/** Called with no argument when the session is gone for good. */
export function onSessionExpired(listener) { listeners.add(listener); }

export async function api(method, path, body, { raw = false, retry = true, headers: extra = {} } = {}) {
  const headers = { Accept: "application/json, application/problem+json", ...extra };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (!["GET", "HEAD"].includes(method)) headers["X-CSRF-Token"] = csrfToken();
  let response;
  try {
    response = await fetch(path, {
      method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, { title: "Tollgate cannot be reached. Check your connection and try again." });
  }
  const authStep = path.startsWith("/api/auth/") || path === "/api/accounts";
  if (response.status === 401 && retry && !authStep) {
    const refreshed = await refreshSession();
    if (refreshed === true) return api(method, path, body, { raw, retry: false, headers: extra });
    if (refreshed?.code === "ip_not_allowed") throw new ApiError(403, refreshed); // not a lost session: a refused address
    listeners.forEach((listener) => listener());
  }
  if (!response.ok) {
    let problem = {};
    try { problem = await response.json(); } catch { /* not JSON */ }
    throw new ApiError(response.status, problem);
  }
  if (raw) return response;
  if (response.status === 204) return null;
  return response.json();
}

export const get = (path) => api("GET", path);
export const post = (path, body = {}, options = {}) => api("POST", path, body, options);

/** A new Idempotency-Key: one per thing the user means to do once, sent again with each retry of it. */
export function idempotencyKey() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  // randomUUID needs a secure context (HTTPS or localhost); getRandomValues does not.
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Keys for one form or panel: the same body sent again (a retry) keeps its key, another body gets a new one. */
export function keysPerBody() {
  const keys = new Map();
  return (body) => {
    const request = JSON.stringify(body);
    if (!keys.has(request)) keys.set(request, idempotencyKey());
    return { "Idempotency-Key": keys.get(request) };
  };
}
export const put = (path, body) => api("PUT", path, body);
export const patch = (path, body) => api("PATCH", path, body);
export const del = (path) => api("DELETE", path);
