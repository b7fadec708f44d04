// The e-shop's session view (route #/session/<id>): loads the session and its seat map, shows
// the live seat map (seated) or the general-admission panel, and follows the live channel
// (seat snapshot and changes, fill gauge). The hold is shop-hold.js's, the basket
// shop-basket.js's.

import { PROTOCOL } from "./protocol.js";
import { SeatMap } from "./seatmap.js";
import { showBasketBar } from "./shop-bar.js";
import { t as tr } from "./i18n.js";
import { api, store } from "./shop-api.js";
import { renderCart, renderGaPanel } from "./shop-basket.js";
import { checkMine, onSeatClick, restoreHold, setView, tick, view } from "./shop-hold.js";
import { gaugeEl } from "./shop-list.js";
import { $, dayLabel, h, onSale, showMessage, timeLabel } from "./shop-util.js";

const { SERVER, CHANNEL, ERROR } = PROTOCOL;

export function leaveSession() {
  if (!view) return;
  view.closed = true;
  view.sub?.close();
  clearInterval(view.timer);
  clearTimeout(view.reconcileTimer);
  view.map = null;
  setView(null);
}

/** Show session `sessionId`, live through `live` (the LiveClient). */
export async function showSession(live, sessionId) {
  $("view-list").hidden = true;
  $("view-cart").hidden = true;
  $("view-session").hidden = false;
  $("order").hidden = true;
  $("order").replaceChildren();
  $("session-title").textContent = tr("shop.loading");
  $("session-meta").textContent = "";
  $("session-gauge").replaceChildren();
  $("seatmap").replaceChildren();
  $("ga-panel").hidden = true;
  showBasketBar(0, "");
  $("legend").hidden = true;
  $("map-help").hidden = true;
  const v = {
    id: sessionId, closed: false, detail: null, seated: true, map: null, sub: null,
    token: store.token(sessionId), expiresAt: 0, capAt: 0, mine: [], places: 0,
    tariffs: store.tariffs(sessionId), queue: Promise.resolve(), busy: false, buying: false,
    orderKey: null, timer: null, reconcileTimer: null, gauge: null, snapshotSeen: false,
  };
  setView(v);
  renderCart();

  let detail, seatMap;
  try {
    const [d, m] = await Promise.all([
      api("GET", `/api/sessions/${sessionId}`),
      api("GET", `/api/sessions/${sessionId}/seat-map`),
    ]);
    if (d.status === 404) {
      $("session-title").textContent = tr("shop.notFound");
      showMessage(tr("shop.gone"));
      return;
    }
    if (!d.ok || !m.ok) throw new Error("load failed");
    detail = d.data;
    seatMap = m.data;
  } catch {
    if (v.closed) return;
    $("session-title").textContent = tr("shop.cannotLoad");
    showMessage(tr("shop.cannotLoadLong"));
    return;
  }
  if (v.closed) return;
  v.detail = detail;
  v.seated = detail.seated;
  const start = new Date(detail.starts_at);
  document.title = `Guichet · ${detail.event_name}`;
  $("session-title").textContent = detail.event_name;
  $("session-meta").textContent =
    `${dayLabel(start)}, ${timeLabel(start)} · ${detail.room_name} · ${detail.venue_name}`;
  $("sales-closed").hidden = onSale(detail);
  $("sales-closed").textContent = tr(detail.sales_open ? "shop.startedBanner" : "shop.salesClosedBanner");

  if (v.seated) {
    v.map = new SeatMap($("seatmap"), {
      zoom: true,
      label: tr("shop.mapOf", { room: detail.room_name }),
      onSeatClick: onSeatClick,
      tooltipExtra: (seat, state) => (state === "mine" ? tr("shop.clickRemove")
        : state === "free" ? tr("shop.clickAdd") : ""),
    });
    v.map.load(seatMap);
    window.__guichet.seatMap = v.map;
    const legend = $("legend");
    legend.querySelectorAll(".legend-category").forEach((el) => el.remove());
    for (const c of seatMap.categories || []) {
      const swatch = h("span", { class: "swatch swatch-category" });
      swatch.style.borderColor = c.color;
      legend.append(h("li", { class: "legend-category" }, swatch, tr("shop.outline", { name: c.name })));
    }
    legend.hidden = false;
    $("map-help").hidden = false;
  } else {
    renderGaPanel();
  }

  v.timer = setInterval(tick, 500);
  await restoreHold();
  if (v.closed) return;
  const channel = v.seated ? `${CHANNEL.SEATS}:${sessionId}` : `${CHANNEL.GAUGE}:${sessionId}`;
  v.sub = live.subscribe(channel, (m) => onLive(v, m));
}

function onLive(v, m) {
  if (v.closed) return;
  if (m.type === SERVER.ERROR) {
    if (m.code === ERROR.UNKNOWN_SESSION) showMessage(tr("shop.gone"));
    return;
  }
  if (m.type === SERVER.SNAPSHOT) {
    v.map.applySnapshot(m.states);
    v.snapshotSeen = true;
    checkMine();
  } else if (m.type === SERVER.DELTA) {
    v.map.applyChanges(m.changes);
    checkMine();
  }
  if (m.capacity !== undefined) {
    v.gauge = { capacity: m.capacity, sold: m.sold, held: m.held, free: m.free };
    $("session-gauge").replaceChildren(gaugeEl(v.gauge));
    if (!v.seated) renderGaPanel();
  }
}
