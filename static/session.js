// The staff sign-in session as the pages see it: who is signed in, API calls with the session
// cookie and its CSRF token, sending signed-out users to /signin.html, the shared header and
// the connection indicator. The contract is /api/auth/* (docs: identity contract).
//
// API
//   me({refresh})            GET /api/auth/me, cached: {id, username, display_name, roles,
//                            permissions, language, points_of_sale, via, csrf, expires_at}
//   sessionHeaders(method)   {X-CSRF-Token} for a non-GET request (for modules with their own fetch)
//   api(method, path, body, {redirect})  JSON call with the cookie; non-GET carries
//                            X-CSRF-Token. Resolves with the JSON body; throws ApiError
//                            {code, message, status, details}. A 401 sends the page to sign-in
//                            (unless {redirect: false}, as the sign-in form itself needs).
//   can(user, ...perms)      true when the user holds any of perms (admin holds all)
//   requireSession(perms)    for a staff page: the user, after translating the page and
//                            mounting the header; null when not allowed (the page's <main> then
//                            says so, with a link to /staff.html) or not signed in (redirected).
//                            Rechecks the session every minute and when the tab is shown again.
//   signOut()                DELETE /api/auth/session, then to the sign-in page
//   goToSignIn(next)         /signin.html?next=<this page's path and query>
//   mountHeader(user, opts)  fills <header id="staff-header">: home link, who, language,
//                            change password, sign out; opts.connection: a LiveClient to show
//   connectionIndicator(client)  an element: icon + words for live / reconnecting / offline
//   watchSession(client)     a WebSocket client whose error frames token_revoked,
//                            token_expired or no_session send the page to sign-in
//   notify(text, kind)       a dismissable message in #messages
//   errorText(err)           "code: message" for an ApiError, for messages on the page

import { connectionIndicator } from "./connection.js";
import { h as el } from "./dom.js";
import {
  applyTranslations, i18n, languageSwitcher, t, useLanguage,
} from "./i18n.js";

const SIGN_IN = "/signin.html";
const SESSION_ENDED = new Set(["token_revoked", "token_expired", "no_session"]);
let cached = null; // Promise of the /api/auth/me body
let leaving = false;

export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message || error?.code || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = error?.code || (status ? `http_${status}` : "network");
    this.details = error || {};
  }
}

export function goToSignIn(next = window.location.pathname + window.location.search
  + window.location.hash) {
  if (leaving) return;
  leaving = true;
  window.location.assign(`${SIGN_IN}?next=${encodeURIComponent(next)}`);
}

/** Only a same-origin path ("/x", not "//x" nor "/\\x") may be a place to go after sign-in. */
export function safeNext(next) {
  if (typeof next !== "string" || !next.startsWith("/") || next.startsWith("//")) return null;
  if (next.startsWith("/\\") || /[\u0000-\u001f]/.test(next)) return null;
  return next;
}

async function csrfToken() {
  const user = cached ? await cached.catch(() => null) : null;
  return user?.csrf || null;
}

/** The headers a request of `method` needs for the session (X-CSRF-Token unless GET). */
export async function sessionHeaders(method) {
  if (["GET", "HEAD", "OPTIONS"].includes(method)) return {};
  const csrf = await csrfToken();
  return csrf ? { "X-CSRF-Token": csrf } : {};
}

export async function api(method, path, body, { redirect = true } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  Object.assign(headers, await sessionHeaders(method));
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, { code: "network", message: t("error.network") });
  }
  let data = null;
  if (response.headers.get("content-type")?.includes("json")) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  if (response.status === 401 && redirect) goToSignIn();
  if (!response.ok) throw new ApiError(response.status, data?.error);
  return data;
}

export function me({ refresh = false } = {}) {
  if (!cached || refresh) {
    const call = api("GET", "/api/auth/me", undefined, { redirect: false });
    cached = call;
    call.catch(() => {
      if (cached === call) cached = null;
    });
  }
  return cached;
}

/** After a sign-in or a password change: the new CSRF token without another round trip. */
export function remember(user) {
  cached = Promise.resolve(user);
}

export function can(user, ...permissions) {
  const held = user?.permissions || [];
  return held.includes("admin") || permissions.some((p) => held.includes(p));
}

export async function signOut() {
  // Leaving from now on: the socket's "session ended" frame, which the DELETE itself causes,
  // must not race this to the sign-in page with a ?next= back to this page.
  leaving = true;
  try {
    await api("DELETE", "/api/auth/session", undefined, { redirect: false });
  } catch {
    // signed out already, or the server is unreachable: leave anyway
  }
  cached = null;
  window.location.assign(SIGN_IN);
}

export async function requireSession(permissions = []) {
  applyTranslations(document);
  let user;
  try {
    user = await me();
  } catch (err) {
    showProblem(errorText(err));
    return null;
  }
  if (!user?.id) {
    goToSignIn();
    return null;
  }
  if (LANGUAGES_OK(user.language)) useLanguage(user.language, { remember: false });
  mountHeader(user);
  watchSignedIn();
  if (permissions.length && !can(user, ...permissions)) {
    showDenied(permissions);
    return null;
  }
  return user;
}

const LANGUAGES_OK = (lang) => lang === "fr" || lang === "en";
const RECHECK_MS = 60000;

/** Pages without a socket learn of a session ended elsewhere (signed out, disabled, expired)
 * within a minute, and at once when the tab comes back to the front. */
function watchSignedIn() {
  const check = async () => {
    try {
      const user = await me({ refresh: true });
      if (!user?.id) goToSignIn();
    } catch {
      // offline for a moment: the next check or API call will tell
    }
  };
  setInterval(check, RECHECK_MS);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") check();
  });
}

function showProblem(text) {
  const main = document.getElementById("main");
  const box = el("p", { class: "banner banner-error", role: "alert" }, text);
  main.replaceChildren(box);
}

function showDenied(permissions) {
  const main = document.getElementById("main");
  const section = el("section", { class: "card narrow", "data-testid": "not-allowed" },
    el("h1", { "data-i18n": "denied.title" }, t("denied.title")),
    el("p", {}, t("denied.body", { needs: permissions.join(" / ") })),
    el("p", {}, el("a", { href: "/staff.html", "data-i18n": "denied.home" }, t("denied.home"))));
  main.replaceChildren(section);
}

// -- header -----------------------------------------------------------------------------------

async function saveLanguage(lang) {
  try {
    const user = await api("PATCH", "/api/auth/me", { language: lang });
    if (user?.id) remember(user);
  } catch (err) {
    if (err.status !== 401) notify(errorText(err));
  }
}

export function mountHeader(user, { connection = null } = {}) {
  const header = document.getElementById("staff-header");
  if (!header) return;
  const name = user.display_name || user.username;
  const who = el("span", { class: "pill", "data-testid": "signed-in-as", title: user.username },
    t("header.signedInAs", { name }));
  const out = el("button", { type: "button", class: "btn btn-small topbar-btn",
    "data-testid": "sign-out", "data-i18n": "header.signOut" }, t("header.signOut"));
  out.addEventListener("click", () => signOut());
  const password = el("a", { class: "topbar-link", href: "/signin.html#password",
    "data-testid": "change-password", "data-i18n": "header.password" }, t("header.password"));
  const home = el("a", { class: "brand", href: "/staff.html" },
    el("span", { class: "brand-mark", "aria-hidden": "true" }, "◆"), " Guichet");
  const home2 = el("a", { class: "topbar-link", href: "/staff.html", "data-i18n": "header.home",
    "data-testid": "staff-home" }, t("header.home"));
  const tools = el("div", { class: "topbar-status" },
    connection ? connectionIndicator(connection) : null,
    who, home2, password, languageSwitcher(saveLanguage), out);
  header.replaceChildren(home, tools);
  i18n.addEventListener("languagechange", () => {
    who.textContent = t("header.signedInAs", { name });
  });
}

/** Put a connection indicator into an existing header (pages that open their socket later). */
export function addConnectionIndicator(client) {
  const tools = document.querySelector("#staff-header .topbar-status");
  const indicator = connectionIndicator(client);
  if (tools) tools.prepend(indicator);
  return indicator;
}

// -- connection indicator: connection.js ---------------------------------------------------

export { connectionIndicator };

export function watchSession(client) {
  const check = (event) => {
    if (SESSION_ENDED.has(event.detail?.code)) {
      client.close();
      goToSignIn();
    }
  };
  client.addEventListener("error", check);
  client.addEventListener("auth-error", check);
}

// -- messages -----------------------------------------------------------------------------------

export function errorText(err) {
  if (err instanceof ApiError) {
    if (err.code === "network") return err.message;
    return t("error.generic", { code: err.code, message: err.message });
  }
  return String(err?.message || err);
}

export function notify(text, kind = "error") {
  const box = document.getElementById("messages");
  if (!box) return;
  const close = el("button", { type: "button", class: "msg-close", "aria-label": t("dismiss") },
    "×");
  const msg = el("div", { class: `msg msg-${kind}`, role: kind === "error" ? "alert" : "status",
    "data-testid": "message", "data-kind": kind }, el("span", {}, text), close);
  close.addEventListener("click", () => msg.remove());
  box.append(msg);
  while (box.children.length > 3) box.firstElementChild.remove();
  setTimeout(() => msg.remove(), kind === "error" ? 10000 : 6000);
}

