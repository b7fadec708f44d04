// The e-shop's session list (route #/): the sessions grouped by day, each card with its live
// fill gauge (one gauge channel per card), and `gaugeEl`, the gauge the session view shows too.

import { PROTOCOL } from "./protocol.js";
import { everything } from "./paging.js";
import { t as tr } from "./i18n.js";
import { api } from "./shop-api.js";
import { $, dayKey, dayLabel, h, onSale, timeLabel } from "./shop-util.js";

const { SERVER, CHANNEL } = PROTOCOL;

let listSubs = [];

export function gaugeEl(g) {
  const cap = Math.max(g.capacity || 0, 0);
  const sold = g.sold || 0, held = g.held || 0, free = Math.max(g.free ?? cap - sold - held, 0);
  const pct = (n) => (cap ? (100 * n) / cap : 0).toFixed(1) + "%";
  const label = cap === 0 ? tr("shop.noPlaces") : free === 0 ? tr("shop.soldOut")
    : tr("shop.left", { free, cap });
  return h("div", {
    class: "gauge", role: "meter", "aria-valuemin": 0, "aria-valuemax": cap,
    "aria-valuenow": sold + held, "aria-label": tr("shop.filling", { label }), "data-free": free,
  },
  h("div", { class: "gauge-bar", "aria-hidden": "true" },
    h("span", { class: "gauge-sold", style: `width:${pct(sold)}` }),
    h("span", { class: "gauge-held", style: `width:${pct(held)}` })),
  h("span", { class: "gauge-text" }, label));
}

/** Show the list; `live`: the LiveClient; `stillShown()`: whether the list is still the route
 * once the sessions are loaded. */
export async function showList(live, stillShown) {
  document.title = tr("shop.pageTitle");
  $("view-session").hidden = true;
  $("view-cart").hidden = true;
  $("view-list").hidden = false;
  const list = $("session-list");
  let sessions;
  try {
    const get = async (path) => {
      const r = await api("GET", path);
      if (!r.ok) throw new Error(r.error.code);
      return r.data;
    };
    sessions = (await everything(get, "/api/sessions", "sessions")).sessions;
  } catch {
    list.replaceChildren(h("p", { class: "banner" }, tr("shop.loadFailed"), " ",
      h("button", { type: "button", class: "btn btn-small", onclick: () => showList(live, stillShown) },
        tr("shop.retry"))));
    return;
  }
  if (!stillShown()) return;
  if (!sessions.length) {
    list.replaceChildren(h("p", { class: "muted" }, tr("shop.noSessions")));
    return;
  }
  const days = new Map();
  for (const s of sessions) {
    const d = new Date(s.starts_at);
    const key = dayKey(d);
    if (!days.has(key)) days.set(key, { date: d, items: [] });
    days.get(key).items.push(s);
  }
  const gauges = new Map();
  const groups = [...days.values()].map(({ date, items }) => {
    const headingId = `day-${dayKey(date)}`;
    return h("section", { class: "day", "aria-labelledby": headingId },
      h("h2", { id: headingId }, dayLabel(date)),
      h("ul", { class: "session-cards" }, items.map((s) => {
        const gauge = h("div", { class: "gauge-slot" }, h("span", { class: "muted small" }, "…"));
        gauges.set(s.id, gauge);
        const start = new Date(s.starts_at);
        return h("li", {},
          h("a", {
            class: "session-card", href: `#/session/${s.id}`, "data-testid": "session-card",
            "data-session-id": s.id,
          },
          h("time", { class: "card-time", datetime: s.starts_at }, timeLabel(start)),
          h("span", { class: "card-body" },
            h("strong", { class: "card-title" }, s.event_name),
            h("span", { class: "card-room muted" },
              `${s.room_name} · ${s.venue_name}`, s.seated ? "" : ` · ${tr("shop.standing")}`)),
          onSale(s) ? gauge : h("span", { class: "badge" },
            tr(s.sales_open ? "shop.started" : "shop.salesClosed"))));
      })));
  });
  list.replaceChildren(...groups);
  // Live fill gauges (one WebSocket channel each; the server allows 64 per connection).
  for (const [id, slot] of [...gauges].slice(0, 60)) {
    listSubs.push(live.subscribe(`${CHANNEL.GAUGE}:${id}`, (m) => {
      if (m.type === SERVER.GAUGE) slot.replaceChildren(gaugeEl(m));
    }));
  }
}

export function leaveList() {
  for (const sub of listSubs) sub.close();
  listSubs = [];
}
