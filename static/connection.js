// The connection badge: icon and words for live / connecting / reconnecting / offline, never
// colour alone. Staff pages get it through session.js (mountHeader, addConnectionIndicator),
// the public shop directly (shop-public.js), without the staff session code.
//
// `client` is anything with a `status` ("open", "connecting", "reconnecting", "closed") that
// dispatches "status" events: a LiveClient (live.js) or a page's own reachability object.
// The badge tells the truth rather than the socket's last step: a LiveClient trying again
// after a drop says "reconnecting" during its attempts too (not "connecting", which is for the
// first connection of the page), and a browser without network says "offline".

import { h as el } from "./dom.js";
import { i18n, language, t } from "./i18n.js";

const CONNECTION = {
  open: { icon: "✓", key: "conn.open" },
  connecting: { icon: "…", key: "conn.connecting" },
  reconnecting: { icon: "↻", key: "conn.reconnecting" },
  closed: { icon: "✕", key: "conn.closed" },
};

/** What the badge says for `client` now: open, connecting, reconnecting or closed. */
export function connectionState(client) {
  const status = client.status in CONNECTION ? client.status : "closed";
  if (status === "open") return "open";
  if (typeof navigator !== "undefined" && navigator.onLine === false) return "closed";
  if (status === "connecting" && client.attempt > 0) return "reconnecting";
  return status;
}

/** An element (`data-testid`, "connection" unless told) showing `client`'s connection. */
export function connectionIndicator(client, { testid = "connection" } = {}) {
  const icon = el("span", { class: "conn-icon", "aria-hidden": "true" });
  const words = el("span", { class: "conn-text" });
  const box = el("span", { class: "live-status conn-badge", "data-testid": testid, role: "status",
    "aria-live": "polite" }, icon, words);
  const render = () => {
    const status = connectionState(client);
    if (box.dataset.status === status && words.dataset.lang === language()) return;
    const shown = CONNECTION[status];
    box.dataset.status = status;
    words.dataset.lang = language();
    icon.textContent = shown.icon;
    words.textContent = t(shown.key);
    box.title = t(status === "open" ? "conn.titleOpen" : "conn.titleDown");
  };
  client.addEventListener("status", render);
  i18n.addEventListener("languagechange", render);
  window.addEventListener("online", render);
  window.addEventListener("offline", render);
  render();
  return box;
}
