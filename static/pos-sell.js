// Selling tickets at the cash desk: upcoming sessions with live fill gauges; a quick mode for
// general admission (session → tariff × quantity → payment: three taps); the live seat map
// of seated sessions (seatmap.js, as the e-shop) with a tariff per seat from its category;
// "best available" (the server chooses and holds N seats); the hold countdown; payment
// (pos-pay.js) and the desk sale: POST /api/sessions/{id}/orders with register_session_id
// and payments.

import { h } from "./dom.js";
import { register, t } from "./i18n.js";
import { PROTOCOL } from "./protocol.js";
import { everything } from "./paging.js";
import { paymentPanel } from "./pos-pay.js";
import { clock, dateTime, money, randomKey } from "./pos-util.js";
import { SeatMap } from "./seatmap.js";
import { api, errorText, notify } from "./session.js";

const { SERVER, CHANNEL, SEAT_STATE } = PROTOCOL;

register({
  fr: {
    "sell.sessions": "Séances à venir",
    "sell.none": "Aucune séance à venir.",
    "sell.loadFailed": "Impossible de charger les séances.",
    "sell.back": "← Toutes les séances",
    "sell.ga": "Placement libre",
    "sell.seated": "Placé",
    "sell.closed": "Vente fermée",
    "sell.soldOut": "Complet",
    "sell.left": "{free} places libres sur {cap}",
    "sell.fill": "Remplissage : {label}",
    "sell.quick": "Vente rapide",
    "sell.quickHelp": "Choisissez la quantité puis touchez un tarif : les places sont retenues et le paiement s'ouvre.",
    "sell.quantity": "Quantité",
    "sell.less": "Une de moins",
    "sell.more": "Une de plus",
    "sell.best": "Meilleures places",
    "sell.bestHelp": "Le serveur choisit les places côte à côte, au plus près de la scène.",
    "sell.bestCount": "Nombre de places",
    "sell.bestTariff": "Tarif",
    "sell.anyTariff": "Tous tarifs",
    "sell.wheelchair": "Place pour fauteuil roulant",
    "sell.bestGo": "Trouver et retenir",
    "sell.bestHeld": "{n} place(s) retenue(s) : {names}",
    "sell.notEnoughSeats": "Pas assez de places libres pour cette demande.",
    "sell.mapHelp": "Touchez une place libre pour l'ajouter, touchez-la de nouveau pour la retirer. Flèches et Entrée au clavier.",
    "sell.basket": "Panier",
    "sell.empty": "Panier vide.",
    "sell.tariffFor": "Tarif pour {label}",
    "sell.remove": "Retirer {label}",
    "sell.clear": "Vider le panier",
    "sell.heldFor": "Retenu encore",
    "sell.extend": "Plus de temps",
    "sell.extended": "Délai prolongé : {time}.",
    "sell.atCap": "Délai maximal atteint.",
    "sell.expired": "Le délai de réservation est écoulé : les places ont été libérées.",
    "sell.seatName": "Rang {row}, place {label}",
    "sell.places": "{tariff} × {n}",
    "sell.taken": "Déjà prise(s) : {names}",
    "sell.heldOther": "{where} est retenue par un autre acheteur.",
    "sell.sold": "{where} est déjà vendue.",
    "sell.unavailable": "{where} n'est pas en vente.",
    "sell.noTariff": "Aucun tarif en vente pour cette place.",
    "sell.sale": "Vente enregistrée : reçu n° {n}",
    "sell.legend.free": "Libre",
    "sell.legend.mine": "Dans le panier",
    "sell.legend.held": "Retenue ailleurs",
    "sell.legend.sold": "Vendue",
    "sell.legend.unavailable": "Indisponible",
    "sell.legend.wheelchair": "Fauteuil roulant (carré)",
  },
  en: {
    "sell.sessions": "Upcoming sessions",
    "sell.none": "No upcoming session.",
    "sell.loadFailed": "The sessions cannot be loaded.",
    "sell.back": "← All sessions",
    "sell.ga": "General admission",
    "sell.seated": "Seated",
    "sell.closed": "Sales closed",
    "sell.soldOut": "Sold out",
    "sell.left": "{free} of {cap} places free",
    "sell.fill": "Filling: {label}",
    "sell.quick": "Quick sale",
    "sell.quickHelp": "Choose the quantity, then tap a tariff: the places are held and payment opens.",
    "sell.quantity": "Quantity",
    "sell.less": "One fewer",
    "sell.more": "One more",
    "sell.best": "Best available",
    "sell.bestHelp": "The server picks seats side by side, nearest the stage.",
    "sell.bestCount": "Number of seats",
    "sell.bestTariff": "Tariff",
    "sell.anyTariff": "Any tariff",
    "sell.wheelchair": "Wheelchair space",
    "sell.bestGo": "Find and hold",
    "sell.bestHeld": "{n} seat(s) held: {names}",
    "sell.notEnoughSeats": "Not enough free seats for this request.",
    "sell.mapHelp": "Tap a free seat to add it, tap it again to remove it. Arrow keys and Enter on a keyboard.",
    "sell.basket": "Basket",
    "sell.empty": "The basket is empty.",
    "sell.tariffFor": "Tariff for {label}",
    "sell.remove": "Remove {label}",
    "sell.clear": "Empty the basket",
    "sell.heldFor": "Held for",
    "sell.extend": "More time",
    "sell.extended": "Hold extended: {time}.",
    "sell.atCap": "The longest hold is reached.",
    "sell.expired": "The hold ran out: the seats were released.",
    "sell.seatName": "Row {row}, seat {label}",
    "sell.places": "{tariff} × {n}",
    "sell.taken": "Already taken: {names}",
    "sell.heldOther": "{where} is held by another buyer.",
    "sell.sold": "{where} is sold already.",
    "sell.unavailable": "{where} is not on sale.",
    "sell.noTariff": "No tariff on sale for this seat.",
    "sell.sale": "Sale recorded: receipt no. {n}",
    "sell.legend.free": "Free",
    "sell.legend.mine": "In the basket",
    "sell.legend.held": "Held elsewhere",
    "sell.legend.sold": "Sold",
    "sell.legend.unavailable": "Not available",
    "sell.legend.wheelchair": "Wheelchair (square)",
  },
});

const HOLD_GONE = new Set(["unknown_hold", "hold_expired", "seats_not_held", "places_not_held"]);
// the server's prices or tariffs differ from the page's: read them again, keep the error shown
const PRICES_CHANGED = new Set(["payments_mismatch", "tariff_inactive", "unknown_tariff"]);

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

const activeTariffs = (detail, category) => (detail?.tariffs || []).filter((x) => x.active !== false
  && (category === undefined || !x.categories?.length || x.categories.includes(category)));

export function mountSell(ctx, root) {
  let listSubs = new Map(); // session id -> its gauge subscription, while its tile is seen
  let listObserver = null;
  let v = null; // the open session view

  root.replaceChildren(
    h("div", { id: "sell-list", class: "sell-list" }),
    h("div", { id: "sell-session", class: "sell-session", hidden: true }));
  const listBox = root.querySelector("#sell-list");
  const sessionBox = root.querySelector("#sell-session");

  // -- session list ---------------------------------------------------------------------------

  async function showList() {
    leaveSession();
    sessionBox.hidden = true;
    listBox.hidden = false;
    listBox.replaceChildren(h("h2", {}, t("sell.sessions")), h("p", { class: "muted" }, t("loading")));
    let sessions;
    try {
      sessions = (await everything((p) => api("GET", p), "/api/sessions", "sessions")).sessions;
    } catch (err) {
      listBox.replaceChildren(h("h2", {}, t("sell.sessions")),
        h("p", { class: "banner" }, t("sell.loadFailed"), " ", errorText(err), " ",
          h("button", { type: "button", class: "btn btn-small", onclick: showList }, t("retry"))));
      return;
    }
    if (v) return; // a session was opened meanwhile
    leaveList();
    // A tile's live gauge is subscribed while the tile is on screen: a festival with
    // hundreds of sessions stays within the connection's subscription limit.
    const watched = new Map();
    listObserver = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        const id = Number(entry.target.dataset.sessionId);
        const slot = entry.target.querySelector(".gauge-slot");
        if (entry.isIntersecting && !watched.has(id) && slot) {
          watched.set(id, ctx.live.subscribe(`${CHANNEL.GAUGE}:${id}`, (m) => {
            if (m.type === SERVER.GAUGE) slot.replaceChildren(gaugeEl(m));
          }));
        } else if (!entry.isIntersecting && watched.has(id)) {
          watched.get(id).close();
          watched.delete(id);
        }
      }
    });
    listSubs = watched;
    const items = sessions.map((s) => {
      const slot = h("span", { class: "gauge-slot" }, h("span", { class: "muted small" }, "…"));
      return h("li", {}, h("button", {
        type: "button", class: "session-tile", "data-testid": "pos-session", "data-session-id": s.id,
        disabled: !s.sales_open, onclick: () => openSession(s.id),
      },
      h("span", { class: "tile-when" }, dateTime(s.starts_at)),
      h("strong", { class: "tile-title" }, s.event_name),
      h("span", { class: "tile-room muted" }, `${s.room_name} · ${s.venue_name}`),
      h("span", { class: "tag" }, s.seated ? `▦ ${t("sell.seated")}` : `◯ ${t("sell.ga")}`),
      s.sales_open ? slot : h("span", { class: "tag tag-off" }, t("sell.closed"))));
    });
    listBox.replaceChildren(h("h2", {}, t("sell.sessions")),
      items.length ? h("ul", { class: "session-tiles" }, items) : h("p", { class: "muted" }, t("sell.none")));
    for (const tile of listBox.querySelectorAll('[data-testid="pos-session"]:not([disabled])')) {
      listObserver.observe(tile);
    }
  }

  function leaveList() {
    listObserver?.disconnect();
    listObserver = null;
    for (const sub of listSubs.values()) sub.close();
    listSubs = new Map();
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
    sessionBox.hidden = false;
    sessionBox.replaceChildren(h("p", { class: "muted" }, t("loading")));
    const view = {
      id, closed: false, detail: null, map: null, sub: null, token: null, expiresAt: 0,
      seats: [], tariffBySeat: {}, places: [], qty: 1, busy: false, timer: null, orderKey: null,
      gauge: null,
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
    view.timer = setInterval(() => tick(view), 500);
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

    const left = h("div", { class: "sell-main" });
    if (d.seated) {
      left.append(bestForm(view), h("div", { class: "map-panel" },
        h("div", { class: "seatmap", "data-testid": "seatmap-container" }),
        legend(), h("p", { class: "muted small" }, t("sell.mapHelp"))));
      view.map = new SeatMap(left.querySelector(".seatmap"), {
        onSeatClick: (seat, state) => onSeat(view, seat, state),
      });
      view.map.load(seatMap);
      window.__pos.seatMap = view.map;
    } else {
      left.append(quickPanel(view));
    }

    // basket + payment
    view.els.items = h("ul", { class: "basket-items", "data-testid": "basket" });
    view.els.empty = h("p", { class: "muted" }, t("sell.empty"));
    view.els.said = h("p", { class: "small muted", role: "status", "data-testid": "basket-said" });
    view.els.countdown = h("strong", { "data-testid": "hold-countdown", role: "timer" }, "--:--");
    view.els.extend = h("button", { type: "button", class: "btn btn-small", "data-testid": "extend",
      onclick: () => extend(view) }, t("sell.extend"));
    view.els.timer = h("div", { class: "hold-timer", hidden: true },
      h("span", {}, `◷ ${t("sell.heldFor")} `, view.els.countdown), view.els.extend);
    view.pay = paymentPanel({ currency: currencyOf(view), onPay: (payments, summary) => pay(view, payments, summary) });
    view.els.payBox = h("div", { hidden: true }, view.pay.element,
      h("button", { type: "button", class: "btn btn-small", "data-testid": "basket-clear",
        onclick: () => clearBasket(view) }, t("sell.clear")));
    const aside = h("aside", { class: "basket", "aria-labelledby": "basket-title" },
      h("h2", { id: "basket-title" }, t("sell.basket")),
      view.els.empty, view.els.items, view.els.said, view.els.timer, view.els.payBox);
    sessionBox.replaceChildren(head, h("div", { class: "sell-layout" }, left, aside));
    renderBasket(view);
  }

  function currencyOf(view) {
    return view.detail?.tariffs?.[0]?.currency || ctx.currency();
  }

  function legend() {
    const item = (state, key) => h("li", {}, h("span", { class: "swatch", "data-state": state }), t(key));
    return h("ul", { class: "legend", "aria-label": "legend" },
      item("free", "sell.legend.free"), item("mine", "sell.legend.mine"),
      item("held", "sell.legend.held"), item("sold", "sell.legend.sold"),
      item("unavailable", "sell.legend.unavailable"),
      h("li", {}, h("span", { class: "swatch swatch-accessible" }), t("sell.legend.wheelchair")));
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
    const added = await hold(view, `/api/sessions/${view.id}/holds`, { quantity: n });
    if (!added) return;
    view.places.push({ tariff, n: added.quantity || n });
    renderBasket(view);
    view.els.payBox.querySelector("[data-testid=given-exact]")?.focus();
  }

  // -- seated: map and best available ---------------------------------------------------------

  function bestForm(view) {
    const count = h("input", { type: "number", min: "1", max: "20", value: "2", inputmode: "numeric",
      "data-testid": "best-count", id: "best-count" });
    const tariff = h("select", { "data-testid": "best-tariff", id: "best-tariff" },
      h("option", { value: "" }, t("sell.anyTariff")),
      activeTariffs(view.detail).map((tf) => h("option", { value: tf.id },
        `${tf.name} (${money(tf.price_cents, tf.currency)})`)));
    const wheel = h("input", { type: "checkbox", "data-testid": "best-accessible" });
    const form = h("form", { class: "best-form", "aria-labelledby": "best-title", novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        const n = Number.parseInt(count.value, 10);
        if (!(n >= 1 && n <= 20)) {
          count.focus();
          return;
        }
        const tariffId = tariff.value ? Number(tariff.value) : null;
        const body = { quantity: n, accessible: wheel.checked };
        if (tariffId) body.tariff_id = tariffId;
        const added = await hold(view, `/api/sessions/${view.id}/holds/best`, body);
        if (!added) return;
        for (const id of added.seats) if (tariffId) view.tariffBySeat[id] = tariffId;
        addSeats(view, added.seats);
        view.els.said.textContent = t("sell.bestHeld", { n: added.seats.length,
          names: added.seats.map((id) => seatName(view, id)).join(" ; ") });
      } },
    h("h3", { id: "best-title" }, `★ ${t("sell.best")}`),
    h("p", { class: "muted small" }, t("sell.bestHelp")),
    h("div", { class: "best-fields" },
      h("label", { class: "field", for: "best-count" }, h("span", {}, t("sell.bestCount")), count),
      h("label", { class: "field", for: "best-tariff" }, h("span", {}, t("sell.bestTariff")), tariff),
      h("label", { class: "choice" }, wheel, h("span", {}, `♿ ${t("sell.wheelchair")}`)),
      h("button", { type: "submit", class: "btn btn-primary", "data-testid": "best-submit" }, t("sell.bestGo"))));
    return form;
  }

  function seatName(view, id) {
    const i = view.map ? view.map.indexOf(id) : -1;
    if (i < 0) return id;
    const s = view.map.seat(i);
    return `${view.map.multiZone ? `${s.zone}, ` : ""}${t("sell.seatName", { row: s.row, label: s.label })}`;
  }

  function onSeat(view, seat, state) {
    const where = seatName(view, seat.id);
    if (state === "free") {
      if (!activeTariffs(view.detail, seat.category).length) {
        notify(t("sell.noTariff"), "info");
        return;
      }
      hold(view, `/api/sessions/${view.id}/holds`, { seats: [seat.id] }, [seat.id]).then((added) => {
        if (added) addSeats(view, added.seats);
      });
    } else if (state === "mine") {
      release(view, [seat.id]);
    } else if (state === "held") notify(t("sell.heldOther", { where }), "info");
    else if (state === "sold") notify(t("sell.sold", { where }), "info");
    else notify(t("sell.unavailable", { where }), "info");
  }

  function addSeats(view, ids) {
    for (const id of ids) if (!view.seats.includes(id)) view.seats.push(id);
    view.seats.sort((a, b) => view.map.indexOf(a) - view.map.indexOf(b));
    view.map.setMine(view.seats);
    renderBasket(view);
  }

  // -- holds ------------------------------------------------------------------------------------

  /** Add to the view's hold (a new one when it has none); the answer, or null after a message. */
  async function hold(view, path, body, pending = []) {
    if (view.busy) return null;
    view.busy = true;
    for (const id of pending) view.map?.setPending(id, true);
    try {
      const r = await api("POST", path, view.token ? { ...body, token: view.token } : body);
      if (view.closed) return null;
      view.token = r.token;
      view.expiresAt = Date.now() + r.expires_in_ms;
      return r;
    } catch (err) {
      if (view.closed) return null;
      if (HOLD_GONE.has(err.code) && view.token) {
        forgetHold(view, t("sell.expired"));
      } else if (err.code === "seats_taken") {
        const names = (err.details.seats || []).map((id) => seatName(view, id)).join(" ; ");
        notify(`${errorText(err)} — ${t("sell.taken", { names })}`);
      } else if (err.code === "not_enough_seats") {
        notify(`${errorText(err)} — ${t("sell.notEnoughSeats")}`);
      } else {
        notify(errorText(err));
      }
      return null;
    } finally {
      view.busy = false;
      for (const id of pending) view.map?.setPending(id, false);
    }
  }

  async function release(view, ids) {
    if (!view.token || view.busy) return;
    const rest = view.seats.filter((s) => !ids.includes(s));
    if (!rest.length && !view.places.length) {
      await clearBasket(view);
      return;
    }
    view.busy = true;
    try {
      await api("POST", `/api/sessions/${view.id}/holds/${encodeURIComponent(view.token)}/release`, { seats: ids });
      for (const id of ids) delete view.tariffBySeat[id];
      view.seats = rest;
      view.map?.setMine(view.seats);
      renderBasket(view);
    } catch (err) {
      if (err.status === 404 || err.status === 410) forgetHold(view, t("sell.expired"));
      else notify(errorText(err));
    } finally {
      view.busy = false;
    }
  }

  async function removePlaces(view, index) {
    const line = view.places[index];
    if (!line || !view.token || view.busy) return;
    if (view.places.length === 1 && !view.seats.length) {
      await clearBasket(view);
      return;
    }
    view.busy = true;
    try {
      await api("POST", `/api/sessions/${view.id}/holds/${encodeURIComponent(view.token)}/release`,
        { quantity: line.n });
      view.places.splice(index, 1);
      renderBasket(view);
    } catch (err) {
      if (err.status === 404 || err.status === 410) forgetHold(view, t("sell.expired"));
      else notify(errorText(err));
    } finally {
      view.busy = false;
    }
  }

  async function clearBasket(view) {
    const token = view.token;
    forgetHold(view);
    if (token) {
      try {
        await api("DELETE", `/api/sessions/${view.id}/holds/${encodeURIComponent(token)}`);
      } catch {
        // expired already
      }
    }
  }

  function forgetHold(view, message) {
    const had = view.seats.length || view.places.length;
    view.token = null;
    view.expiresAt = 0;
    view.capAt = 0;
    view.seats = [];
    view.places = [];
    view.tariffBySeat = {};
    view.orderKey = null;
    view.map?.setMine([]);
    renderBasket(view);
    if (message && had) notify(message);
  }

  async function extend(view) {
    if (!view.token || view.busy) return;
    view.busy = true;
    try {
      const r = await api("POST", `/api/sessions/${view.id}/holds/${encodeURIComponent(view.token)}/extend`);
      view.expiresAt = Date.now() + r.expires_in_ms;
      view.capAt = Date.now() + (r.cap_at_ms - r.expires_at_ms) + r.expires_in_ms;
      view.els.said.textContent = t("sell.extended", { time: clock(r.expires_in_ms) });
    } catch (err) {
      if (err.status === 404 || err.status === 410) forgetHold(view, t("sell.expired"));
      else notify(errorText(err));
    } finally {
      view.busy = false;
      tick(view);
    }
  }

  function tick(view) {
    if (view.closed || !view.token) return;
    const left = view.expiresAt - Date.now();
    view.els.countdown.textContent = clock(left);
    view.els.timer.classList.toggle("urgent", left < 60000);
    const atCap = Boolean(view.capAt) && view.capAt - view.expiresAt < 1000;
    view.els.extend.disabled = atCap;
    view.els.extend.title = atCap ? t("sell.atCap") : "";
    if (left <= 0 && !view.busy) forgetHold(view, t("sell.expired"));
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
    if (view.map && view.seats.length && !view.busy) {
      const lost = view.seats.filter((id) => view.map.states[view.map.indexOf(id)] !== SEAT_STATE.HELD);
      if (lost.length) reconcile(view);
    }
  }

  /** What does my hold still hold? (after the live map shows one of my seats not held) */
  async function reconcile(view) {
    if (!view.token || view.busy || view.paying) return;
    try {
      const r = await api("GET", `/api/sessions/${view.id}/holds/${encodeURIComponent(view.token)}`);
      view.seats = view.seats.filter((id) => r.seats.includes(id));
      view.map?.setMine(view.seats);
      view.expiresAt = Date.now() + r.expires_in_ms;
      renderBasket(view);
    } catch (err) {
      if (err.status === 404 || err.status === 410) forgetHold(view, t("sell.expired"));
    }
  }

  // -- basket -----------------------------------------------------------------------------------

  function seatTariff(view, id) {
    const category = view.map.seat(view.map.indexOf(id)).category;
    const list = activeTariffs(view.detail, category);
    return { list, chosen: list.find((x) => x.id === view.tariffBySeat[id]) || list[0] };
  }

  function basketTotal(view) {
    let total = 0;
    for (const id of view.seats) total += seatTariff(view, id).chosen?.price_cents || 0;
    for (const p of view.places) total += p.tariff.price_cents * p.n;
    return total;
  }

  function renderBasket(view) {
    if (!view.els) return;
    const cur = currencyOf(view);
    const seatLines = view.seats.map((id) => {
      const label = seatName(view, id);
      const { list, chosen } = seatTariff(view, id);
      return h("li", { class: "basket-item", "data-testid": "basket-item", "data-seat-id": id },
        h("span", { class: "line-label" }, label),
        h("select", { "aria-label": t("sell.tariffFor", { label }), "data-testid": "seat-tariff",
          onchange: (e) => {
            view.tariffBySeat[id] = Number(e.target.value);
            renderBasket(view);
          } },
        list.map((x) => h("option", { value: x.id, selected: x.id === chosen?.id },
          `${x.name} (${money(x.price_cents, x.currency)})`))),
        h("button", { type: "button", class: "btn-icon", "aria-label": t("sell.remove", { label }),
          title: t("sell.remove", { label }), onclick: () => release(view, [id]) }, "×"));
    });
    const placeLines = view.places.map((p, i) => {
      const label = t("sell.places", { tariff: p.tariff.name, n: p.n });
      return h("li", { class: "basket-item", "data-testid": "basket-item" },
        h("span", { class: "line-label" }, label),
        h("span", { class: "line-price" }, money(p.tariff.price_cents * p.n, cur)),
        h("button", { type: "button", class: "btn-icon", "aria-label": t("sell.remove", { label }),
          title: t("sell.remove", { label }), onclick: () => removePlaces(view, i) }, "×"));
    });
    view.els.items.replaceChildren(...seatLines, ...placeLines);
    if (!view.seats.length) view.els.said.textContent = "";
    const empty = !view.seats.length && !view.places.length;
    view.els.empty.hidden = !empty;
    view.els.timer.hidden = empty;
    view.els.payBox.hidden = empty;
    view.pay.setTotal(basketTotal(view));
    if (empty) view.pay.reset();
    tick(view);
  }

  // -- the sale ---------------------------------------------------------------------------------

  /** Tariffs as the server has them now (after a refusal over prices): the basket's total follows. */
  async function refreshTariffs(view) {
    try {
      const detail = await api("GET", `/api/sessions/${view.id}`);
      if (view.closed) return;
      view.detail.tariffs = detail.tariffs;
      for (const p of view.places) p.tariff = detail.tariffs.find((x) => x.id === p.tariff.id) || p.tariff;
      const error = view.pay.element.querySelector("[data-testid=pay-error]");
      const shown = error && !error.hidden ? [error.textContent, error.dataset.code] : null;
      renderBasket(view);
      if (shown) view.pay.showError(shown[0], shown[1]);
    } catch {
      // the error stays on the screen; the cashier can go back to the session list
    }
  }

  async function pay(view, payments, summary) {
    const rs = ctx.registerSession();
    if (!rs || !view.token || view.paying) return;
    const items = view.seats.map((id) => ({ seat: id, tariff_id: seatTariff(view, id).chosen?.id }));
    const byTariff = new Map();
    for (const p of view.places) byTariff.set(p.tariff.id, (byTariff.get(p.tariff.id) || 0) + p.n);
    for (const [tariff_id, quantity] of byTariff) items.push({ tariff_id, quantity });
    view.orderKey = view.orderKey || randomKey();
    const body = { hold_token: view.token, idempotency_key: view.orderKey, items,
      register_session_id: rs.id, payments };
    view.paying = true;
    view.pay.setBusy(true);
    let order;
    try {
      order = await api("POST", `/api/sessions/${view.id}/orders`, body);
    } catch (err) {
      view.paying = false;
      view.pay.setBusy(false);
      if (err.status === 0 || err.status === 503) {
        view.pay.showError(errorText(err), err.code); // same key on the retry: never sold twice
        return;
      }
      view.orderKey = null;
      let text = errorText(err);
      if (err.code === "seats_taken") {
        text += ` — ${t("sell.taken", { names: (err.details.seats || []).map((id) => seatName(view, id)).join(" ; ") })}`;
      }
      view.pay.showError(text, err.code);
      notify(text);
      if (err.code === "register_session_closed") {
        ctx.restart(); // closed elsewhere (a supervisor, a hand-over): open or take over again
        return;
      }
      if (HOLD_GONE.has(err.code) || err.code === "seats_taken") await reconcile(view);
      if (PRICES_CHANGED.has(err.code)) await refreshTariffs(view);
      return;
    }
    view.paying = false;
    view.pay.setBusy(false);
    const tickets = order.tickets.map((tk) => ({
      id: tk.id, seat: tk.seat_id ? seatName(view, tk.seat_id) : null,
      event: `${view.detail.event_name} · ${dateTime(view.detail.starts_at)}`,
    }));
    ctx.rememberTickets(tickets);
    view.token = null; // sold: nothing to release
    forgetHold(view);
    await ctx.afterSale(order.receipt, summary?.changeCents ?? 0);
  }

  // -- start ------------------------------------------------------------------------------------
  window.__pos = window.__pos || {};
  return { showList, openSession, leave: () => { leaveList(); leaveSession(); } };
}
