// Selling tickets at the cash desk (the Billets tab): the sessions (pos-sessions.js: upcoming
// tiles with live fill gauges, and a calendar for advance sales), then one session: the quick
// mode of general admission (session → tariff × quantity → payment: three taps), or the live
// seat map and best available of a seated session (pos-seats.js); the basket, articles
// included, its payment and the desk sale (pos-basket.js); unpaid reservations and their
// payment at the desk (pos-reserve.js); overbooking for `sell.overbook` (pos-overbook.js).

import { h } from "./dom.js";
import { register, t } from "./i18n.js";
import { PROTOCOL } from "./protocol.js";
import { everything } from "./paging.js";
import { createBasket } from "./pos-basket.js";
import { mountOverbook } from "./pos-overbook.js";
import { sessionCalendar } from "./pos-calendar.js";
import { reservationFinder } from "./pos-reserve.js";
import { activeTariffs, mountSeated } from "./pos-seats.js";
import { gaugeEl, sessionTiles, tileGauges } from "./pos-sessions.js";
import { dateTime, money } from "./pos-util.js";
import { api, errorText, notify } from "./session.js";

const { SERVER, CHANNEL } = PROTOCOL;

register({
  fr: {
    "sell.back": "← Toutes les séances",
    "sell.quick": "Vente rapide",
    "sell.quickHelp": "Choisissez la quantité puis touchez un tarif : les places sont retenues et le paiement s'ouvre.",
    "sell.quantity": "Quantité",
    "sell.less": "Une de moins",
    "sell.more": "Une de plus",
  },
  en: {
    "sell.back": "← All sessions",
    "sell.quick": "Quick sale",
    "sell.quickHelp": "Choose the quantity, then tap a tariff: the places are held and payment opens.",
    "sell.quantity": "Quantity",
    "sell.less": "One fewer",
    "sell.more": "One more",
  },
});

export function mountSell(ctx, root) {
  let gauges = null; // the live gauges of the tiles (upcoming list and calendar)
  let v = null; // the open session view

  root.replaceChildren(
    h("div", { id: "sell-list", class: "sell-list" }),
    h("div", { id: "sell-session", class: "sell-session", hidden: true }));
  const listBox = root.querySelector("#sell-list");
  const sessionBox = root.querySelector("#sell-session");

  // -- session list ---------------------------------------------------------------------------

  async function showList() {
    leaveSession();
    leaveList();
    sessionBox.hidden = true;
    listBox.hidden = false;
    gauges = tileGauges(ctx.live);
    const upcoming = h("section", { "aria-labelledby": "sell-upcoming" },
      h("h2", { id: "sell-upcoming" }, t("sell.sessions")), h("p", { class: "muted" }, t("loading")));
    listBox.replaceChildren(reservationFinder(ctx), sessionCalendar(openSession, gauges), upcoming);
    let sessions;
    try {
      sessions = (await everything((p) => api("GET", p), "/api/sessions", "sessions")).sessions;
    } catch (err) {
      upcoming.replaceChildren(h("h2", { id: "sell-upcoming" }, t("sell.sessions")),
        h("p", { class: "banner" }, t("sell.loadFailed"), " ", errorText(err), " ",
          h("button", { type: "button", class: "btn btn-small", onclick: showList }, t("retry"))));
      return;
    }
    if (v) return; // a session was opened meanwhile
    upcoming.replaceChildren(h("h2", { id: "sell-upcoming" }, t("sell.sessions")), sessions.length
      ? sessionTiles(sessions, openSession) : h("p", { class: "muted" }, t("sell.none")));
    gauges.watch(upcoming);
  }

  function leaveList() {
    gauges?.close();
    gauges = null;
  }

  // -- session view ---------------------------------------------------------------------------

  function leaveSession() {
    if (!v) return;
    const old = v;
    v = null;
    old.closed = true;
    old.sub?.close();
    clearInterval(old.timer);
    if (old.token) {
      // give the seats back (nothing was sold under this hold)
      api("DELETE", `/api/sessions/${old.id}/holds/${encodeURIComponent(old.token)}`).catch(() => {});
    }
    window.__pos.view = null;
  }

  async function openSession(id) {
    leaveList();
    leaveSession();
    listBox.hidden = true;
    listBox.replaceChildren(); // one payment panel in the tab at a time
    sessionBox.hidden = false;
    sessionBox.replaceChildren(h("p", { class: "muted" }, t("loading")));
    const view = {
      id, closed: false, detail: null, map: null, sub: null, token: null, expiresAt: 0,
      seats: [], tariffBySeat: {}, places: [], articles: new Map(), qty: 1, busy: false,
      timer: null, orderKey: null, gauge: null,
    };
    v = view;
    window.__pos.view = view;
    let detail, seatMap;
    try {
      [detail, seatMap] = await Promise.all([
        api("GET", `/api/sessions/${id}`), api("GET", `/api/sessions/${id}/seat-map`)]);
    } catch (err) {
      if (view.closed) return;
      sessionBox.replaceChildren(backButton(), h("p", { class: "banner banner-error", role: "alert" }, errorText(err)));
      return;
    }
    if (view.closed) return;
    view.detail = detail;
    buildSession(view, seatMap);
    sessionBox.querySelector("[data-testid=sell-title]")?.focus(); // keyboard: start from the session
    view.timer = setInterval(() => view.basket.tick(), 500);
    const channel = detail.seated ? `${CHANNEL.SEATS}:${id}` : `${CHANNEL.GAUGE}:${id}`;
    view.sub = ctx.live.subscribe(channel, (m) => onLive(view, m));
  }

  function backButton() {
    return h("button", { type: "button", class: "btn btn-small back-btn", "data-testid": "sell-back",
      onclick: () => showList() }, t("sell.back"));
  }

  function buildSession(view, seatMap) {
    const d = view.detail;
    view.els = {};
    const gauge = h("div", { class: "session-gauge", "data-testid": "session-gauge" });
    view.els.gauge = gauge;
    const head = h("header", { class: "sell-head" },
      backButton(),
      h("div", { class: "sell-title" },
        h("h2", { "data-testid": "sell-title", tabindex: "-1" }, d.event_name),
        h("p", { class: "muted small" }, `${dateTime(d.starts_at)} · ${d.room_name} · ${d.venue_name}`)),
      gauge);
    view.basket = createBasket(ctx, view);
    const left = h("div", { class: "sell-main" });
    if (d.seated) mountSeated(view, left, seatMap, view.basket);
    else left.append(quickPanel(view));
    sessionBox.replaceChildren(head, h("div", { class: "sell-layout" }, left, view.basket.element));
    mountOverbook(ctx, view, left, view.basket);
    view.basket.render();
  }

  // -- quick mode (general admission) -----------------------------------------------------------

  function quickPanel(view) {
    const qty = h("output", { class: "stepper-value", "data-testid": "quick-qty", "aria-live": "polite" }, "1");
    const setQty = (n) => {
      view.qty = Math.max(1, Math.min(50, n));
      qty.textContent = String(view.qty);
    };
    const tariffs = activeTariffs(view.detail);
    return h("section", { class: "quick", "aria-labelledby": "quick-title" },
      h("h3", { id: "quick-title" }, `⚡ ${t("sell.quick")}`),
      h("p", { class: "muted small" }, t("sell.quickHelp")),
      h("div", { class: "stepper", role: "group", "aria-label": t("sell.quantity") },
        h("span", { class: "stepper-label" }, t("sell.quantity")),
        h("button", { type: "button", class: "btn btn-step", "aria-label": t("sell.less"),
          "data-testid": "quick-minus", onclick: () => setQty(view.qty - 1) }, "−"),
        qty,
        h("button", { type: "button", class: "btn btn-step", "aria-label": t("sell.more"),
          "data-testid": "quick-plus", onclick: () => setQty(view.qty + 1) }, "+")),
      h("div", { class: "tariff-buttons" }, tariffs.map((tf) => h("button", {
        type: "button", class: "btn tariff-btn", "data-testid": "quick-tariff", "data-tariff-id": tf.id,
        onclick: () => quickAdd(view, tf),
      }, h("strong", {}, tf.name), h("span", {}, money(tf.price_cents, tf.currency)),
      tf.note ? h("span", { class: "small muted" }, tf.note) : null))));
  }

  async function quickAdd(view, tariff) {
    if (view.busy) return;
    const n = view.qty;
    const added = await view.basket.hold(`/api/sessions/${view.id}/holds`, { quantity: n });
    if (!added) return;
    view.basket.addPlaces(tariff, added.quantity || n);
    sessionBox.querySelector("[data-testid=given-exact]")?.focus();
  }

  function onLive(view, m) {
    if (view.closed) return;
    if (m.type === SERVER.ERROR) {
      notify(`${m.code}: ${m.message || ""}`);
      return;
    }
    if (view.map && m.type === SERVER.SNAPSHOT) view.map.applySnapshot(m.states);
    else if (view.map && m.type === SERVER.DELTA) view.map.applyChanges(m.changes);
    if (m.capacity !== undefined) {
      view.gauge = { capacity: m.capacity, sold: m.sold, held: m.held, free: m.free };
      view.els.gauge.replaceChildren(gaugeEl(view.gauge));
    }
    view.basket.onMap();
    view.overbook?.onLive();
  }

  // -- start ------------------------------------------------------------------------------------
  window.__pos = window.__pos || {};
  return { showList, openSession, leave: () => { leaveList(); leaveSession(); } };
}
