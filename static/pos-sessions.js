// The cash desk's sessions: tiles with live fill gauges (`gauge:<id>`, subscribed while a
// tile is on screen, so a festival's hundreds of sessions stay within the connection's
// subscription limit), for the upcoming list and for the day picked on the calendar
// (pos-calendar.js).

import { h } from "./dom.js";
import { register, t } from "./i18n.js";
import { PROTOCOL } from "./protocol.js";
import { dateTime } from "./pos-util.js";

const { SERVER, CHANNEL } = PROTOCOL;

register({
  fr: {
    "sell.sessions": "Séances à venir",
    "sell.none": "Aucune séance à venir.",
    "sell.loadFailed": "Impossible de charger les séances.",
    "sell.ga": "Placement libre",
    "sell.seated": "Placé",
    "sell.closed": "Vente fermée",
    "sell.soldOut": "Complet",
    "sell.left": "{free} places libres sur {cap}",
    "sell.fill": "Remplissage : {label}",
  },
  en: {
    "sell.sessions": "Upcoming sessions",
    "sell.none": "No upcoming session.",
    "sell.loadFailed": "The sessions cannot be loaded.",
    "sell.ga": "General admission",
    "sell.seated": "Seated",
    "sell.closed": "Sales closed",
    "sell.soldOut": "Sold out",
    "sell.left": "{free} of {cap} places free",
    "sell.fill": "Filling: {label}",
  },
});

export function gaugeEl(g) {
  const cap = Math.max(g.capacity || 0, 0);
  const sold = g.sold || 0, held = g.held || 0, free = Math.max(g.free ?? cap - sold - held, 0);
  const pct = (n) => `${(cap ? (100 * n) / cap : 0).toFixed(1)}%`;
  const label = free === 0 ? t("sell.soldOut") : t("sell.left", { free, cap });
  return h("div", { class: "gauge", role: "meter", "aria-valuemin": 0, "aria-valuemax": cap,
    "aria-valuenow": sold + held, "aria-label": t("sell.fill", { label }), "data-free": free,
    "data-testid": "gauge" },
  h("div", { class: "gauge-bar", "aria-hidden": "true" },
    h("span", { class: "gauge-sold", style: `width:${pct(sold)}` }),
    h("span", { class: "gauge-held", style: `width:${pct(held)}` })),
  h("span", { class: "gauge-text" }, label));
}

/** Live gauges of the tiles on screen: `watch(container)` observes its open tiles (a session
 * may have tiles in the list and on the calendar: one subscription feeds both); `close()`
 * ends every subscription. */
export function tileGauges(live) {
  const seen = new Map(); // session id -> its tiles on screen
  const subs = new Map(); // session id -> its gauge subscription, while a tile of it is seen
  const last = new Map(); // session id -> its last gauge
  const show = (tile, g) => tile.querySelector(".gauge-slot")?.replaceChildren(gaugeEl(g));
  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      const id = Number(entry.target.dataset.sessionId);
      const tiles = seen.get(id) || new Set();
      seen.set(id, tiles);
      if (entry.isIntersecting) {
        tiles.add(entry.target);
        if (last.has(id)) show(entry.target, last.get(id));
      } else {
        tiles.delete(entry.target);
      }
      if (tiles.size && !subs.has(id)) {
        subs.set(id, live.subscribe(`${CHANNEL.GAUGE}:${id}`, (m) => {
          if (m.type !== SERVER.GAUGE) return;
          last.set(id, m);
          for (const tile of seen.get(id) || []) show(tile, m);
        }));
      } else if (!tiles.size && subs.has(id)) {
        subs.get(id).close();
        subs.delete(id);
        last.delete(id);
      }
    }
  });
  return {
    watch(container) {
      for (const tile of container.querySelectorAll(".session-tile[data-session-id]:not([disabled])")) {
        observer.observe(tile);
      }
    },
    close() {
      observer.disconnect();
      for (const sub of subs.values()) sub.close();
      subs.clear();
      seen.clear();
      last.clear();
    },
  };
}

/** A list of session tiles (`sessions` as GET /api/sessions lists them). */
export function sessionTiles(sessions, onOpen, { time = dateTime, testid = "pos-session" } = {}) {
  return h("ul", { class: "session-tiles" }, sessions.map((s) => {
    const slot = h("span", { class: "gauge-slot" }, h("span", { class: "muted small" }, "…"));
    return h("li", {}, h("button", {
      type: "button", class: "session-tile", "data-testid": testid, "data-session-id": s.id,
      disabled: !s.sales_open, onclick: () => onOpen(s.id),
    },
    h("span", { class: "tile-when" }, time(s.starts_at)),
    h("strong", { class: "tile-title" }, s.event_name),
    h("span", { class: "tile-room muted" }, `${s.room_name} · ${s.venue_name}`),
    h("span", { class: "tag" }, s.seated ? `▦ ${t("sell.seated")}` : `◯ ${t("sell.ga")}`),
    s.sales_open ? slot : h("span", { class: "tag tag-off" }, t("sell.closed"))));
  }));
}
