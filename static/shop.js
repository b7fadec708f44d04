// The e-shop: session list, live seat map, basket with hold countdown, purchase.
// Plain ES module, no build step. Routes: #/ (sessions) and #/session/<id>.
// `bootShop(options)` starts it (index.html, through shop-public.js); the options can add
// request headers (a session's CSRF token) and a 401 handler for a signed-in caller.
// This module holds the routing and the start; the shop's parts are its own modules:
// shop-list.js (session list), shop-session.js (session view and live seat map),
// shop-hold.js (the hold and its request queue), shop-basket.js (basket, tariffs, GA panel),
// shop-checkout.js (purchase, payment redirect, confirmation), shop-cart.js (the cart across
// sessions with passes and articles, its strip and page #/cart), shop-bar.js (phone's bottom
// bar), shop-api.js (requests, device storage), shop-util.js (helpers, messages),
// shop-text.js (words).

import { LiveClient } from "./live.js";
import { wireBasketBar } from "./shop-bar.js";
import { applyTranslations, i18n } from "./i18n.js";
import "./shop-text.js";
import { configureApi } from "./shop-api.js";
import { bootCart, leaveCart, showCart } from "./shop-cart.js";
import { addToCart, buy } from "./shop-checkout.js";
import { extendHold } from "./shop-hold.js";
import { leaveList, showList } from "./shop-list.js";
import { leaveSession, showSession } from "./shop-session.js";
import { $, clearMessages } from "./shop-util.js";

let live = null; // the badge: connection.js (shop-public.js)

// -- routing ------------------------------------------------------------------------------------

function currentRoute() {
  if (/^#\/cart\/?$/.test(window.location.hash)) return { name: "cart" };
  const m = /^#\/session\/(\d+)\/?$/.exec(window.location.hash);
  return m ? { name: "session", id: Number(m[1]) } : { name: "list" };
}

let shownRoute = "";

function route() {
  const r = currentRoute();
  const key = r.name === "session" ? `session:${r.id}` : r.name;
  if (key === shownRoute) return;
  shownRoute = key;
  clearMessages();
  leaveList();
  leaveSession();
  leaveCart();
  if (r.name === "session") showSession(live, r.id);
  else if (r.name === "cart") showCart();
  else showList(live, () => currentRoute().name === "list");
  $("main").focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

/**
 * Start the shop on this page. `headers(method)`: extra request headers (may be async);
 * `onUnauthorized(error)`: called on any 401; `client`: a LiveClient of the caller's (e.g. one
 * that authenticates). Returns the LiveClient (for a status indicator).
 */
export function bootShop({ headers, onUnauthorized, client } = {}) {
  configureApi({ headers, onUnauthorized });
  applyTranslations(document);
  i18n.addEventListener("languagechange", () => {
    shownRoute = ""; // show the same page again in the new language
    route();
  });
  live = client || new LiveClient();
  // Test and debugging hook (read-only use; e.g. `__guichet.live.ws.close()`).
  window.__guichet = { live, view: null };
  $("buy-form").addEventListener("submit", buy);
  $("extend").addEventListener("click", extendHold);
  $("add-to-cart").addEventListener("click", addToCart);
  bootCart();
  wireBasketBar();
  window.addEventListener("hashchange", route);
  route();
  return live;
}
