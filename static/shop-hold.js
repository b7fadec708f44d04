// The buyer's hold on the session shown: the view's state (`view`), its request queue
// (`enqueue`: one request at a time), and the hold's life: add seats or places, release them,
// more time, the countdown, and reconciling with the server when the live map says a seat of
// mine is no longer held. Redrawing the basket is the basket's (shop-basket.js sets `redraw`).

import { PROTOCOL } from "./protocol.js";
import { tickBasketBar } from "./shop-bar.js";
import { t as tr } from "./i18n.js";
import { api, NetworkError, store } from "./shop-api.js";
import { $, clock, onSale, showMessage } from "./shop-util.js";

const { SEAT_STATE } = PROTOCOL;

/** The session view shown (shop-session.js makes it), or null on the list. */
export let view = null;

export function setView(v) {
  view = v;
  window.__guichet.view = v;
}

// What to draw again when the hold changes: the basket (`cart`) and the GA panel (`gaPanel`).
const redraw = { cart: () => {}, gaPanel: () => {} };

export function onHoldChange({ cart, gaPanel }) {
  redraw.cart = cart;
  redraw.gaPanel = gaPanel;
}

// -- request queue ------------------------------------------------------------------------------

/** A seat of my hold that the live map no longer shows held: ask the server what I hold. */
export function checkMine() {
  if (!view || !view.map) return;
  if (view.busy || view.buying) {
    view.recheck = true; // look again once the request in flight is answered
    return;
  }
  const lost = view.mine.some((id) => view.map.states[view.map.indexOf(id)] !== SEAT_STATE.HELD);
  if (lost) scheduleReconcile();
}

function scheduleReconcile(delay = 300) {
  const v = view;
  clearTimeout(v.reconcileTimer);
  v.reconcileTimer = setTimeout(() => enqueue(() => reconcile(v)), delay);
}

export function enqueue(fn) {
  const v = view;
  const run = v.queue.then(async () => {
    if (v.closed) return;
    v.busy = true;
    try {
      await fn();
    } catch (err) {
      if (err instanceof NetworkError) {
        showMessage(tr("shop.network"));
      } else {
        console.error(err);
        showMessage(tr("shop.wrong"));
      }
    } finally {
      v.busy = false;
      if (v.recheck && !v.closed) {
        v.recheck = false;
        checkMine();
      }
    }
  });
  v.queue = run;
  return run;
}

// -- hold ---------------------------------------------------------------------------------------

function serverOffset(data) {
  // server clock minus local clock (approximately), to place cap_at_ms on the local clock
  return data.expires_at_ms - (Date.now() + data.expires_in_ms);
}

function applyHoldInfo(v, data) {
  v.expiresAt = Date.now() + data.expires_in_ms;
  if (data.cap_at_ms) v.capAt = data.cap_at_ms - serverOffset(data);
}

function setMine(v, seats, places) {
  v.mine = [...seats];
  if (v.map) {
    v.mine.sort((a, b) => v.map.indexOf(a) - v.map.indexOf(b));
    v.map.setMine(v.mine);
  }
  v.places = places;
  redraw.cart();
  if (!v.seated) redraw.gaPanel();
}

export function forgetHold(v, message) {
  const had = v.mine.length > 0 || v.places > 0;
  store.forget(v.id);
  v.token = null;
  v.expiresAt = 0;
  v.capAt = 0;
  v.tariffs = {};
  v.orderKey = null;
  setMine(v, [], 0);
  if (message && had) showMessage(message, "error");
}

export async function restoreHold() {
  const v = view;
  if (!v.token) return;
  await enqueue(() => reconcile(v));
}

export async function reconcile(v) {
  if (!v.token || v.buying) return;
  const r = await api("GET", `/api/sessions/${v.id}/holds/${encodeURIComponent(v.token)}`);
  if (v.closed) return;
  if (r.ok && r.data.expires_in_ms > 0) {
    applyHoldInfo(v, r.data);
    setMine(v, r.data.seats, r.data.quantity);
  } else if (r.ok || r.status === 404 || r.status === 410 || r.status === 400) {
    forgetHold(v, tr("shop.expired"));
  }
}

export function onSeatClick(seat, state) {
  const v = view;
  if (!v || v.buying) return;
  if (!onSale(v.detail)) {
    showMessage(tr(v.detail.sales_open ? "shop.startedBanner" : "shop.closedNow"), "info");
    return;
  }
  const where = seatName(v, seat.id);
  if (state === "free") enqueue(() => holdSeats(v, [seat.id]));
  else if (state === "mine") enqueue(() => releaseSeats(v, [seat.id]));
  else if (state === "held") showMessage(tr("shop.heldByOther", { where }), "info");
  else if (state === "sold") showMessage(tr("shop.alreadySold", { where }), "info");
  else showMessage(tr("shop.notAvailable", { where }), "info");
}

export function seatName(v, id) {
  const i = v.map ? v.map.indexOf(id) : -1;
  if (i < 0) return id;
  const s = v.map.seat(i);
  return `${v.map.multiZone ? `${s.zone}, ` : ""}${tr("shop.seatName", { row: s.row, label: s.label })}`;
}

/** Hold seats (or GA places) under my token; a new token is made when I have none. */
export async function addToHold(v, body, pendingIds = [], retried = false) {
  for (const id of pendingIds) v.map?.setPending(id, true);
  let r;
  try {
    r = await api("POST", `/api/sessions/${v.id}/holds`, v.token ? { ...body, token: v.token } : body);
  } finally {
    for (const id of pendingIds) v.map?.setPending(id, false);
  }
  if (v.closed) return;
  if (r.ok) {
    const fresh = !v.token;
    v.token = r.data.token;
    store.setToken(v.id, v.token);
    applyHoldInfo(v, r.data);
    setMine(v, [...v.mine, ...r.data.seats.filter((s) => !v.mine.includes(s))],
      v.places + (r.data.quantity || 0));
    if (fresh) {
      // learn the hold's absolute cap (for the "more time" button)
      const info = await api("GET", `/api/sessions/${v.id}/holds/${encodeURIComponent(v.token)}`);
      if (info.ok) applyHoldInfo(v, info.data);
      redraw.cart();
    }
    return;
  }
  const code = r.error?.code;
  if ((code === "hold_expired" || code === "unknown_hold") && !retried) {
    forgetHold(v, tr("shop.previousExpired"));
    await addToHold(v, body, pendingIds, true);
  } else if (code === "seats_taken") {
    const names = (r.error.seats || []).map((id) => seatName(v, id)).join("; ");
    showMessage(tr("shop.taken", { names: names || tr("shop.thisSeat") }));
  } else if (code === "not_enough_places") {
    showMessage(tr("shop.notEnough", { available: r.error.available ?? 0 }));
  } else if (code === "sales_closed" || code === "session_started") {
    showMessage(tr(code === "sales_closed" ? "shop.closedNow" : "shop.startedBanner"));
  } else if (r.status === 503) {
    showMessage(tr("shop.busy"));
  } else {
    showMessage(r.error?.message || tr("shop.cannotHold"));
  }
}

function holdSeats(v, ids) {
  return addToHold(v, { seats: ids }, ids);
}

export async function releaseSeats(v, ids, places = 0) {
  if (!v.token) return;
  const remainingSeats = v.mine.filter((s) => !ids.includes(s));
  const remainingPlaces = v.places - places;
  const everything = remainingSeats.length === 0 && remainingPlaces <= 0;
  for (const id of ids) v.map?.setPending(id, true);
  let r;
  try {
    const path = `/api/sessions/${v.id}/holds/${encodeURIComponent(v.token)}`;
    r = everything
      ? await api("DELETE", path)
      : await api("POST", `${path}/release`, ids.length ? { seats: ids } : { quantity: places });
  } finally {
    for (const id of ids) v.map?.setPending(id, false);
  }
  if (v.closed) return;
  if (r.ok || r.status === 404) {
    if (everything || r.status === 404) {
      forgetHold(v);
      if (r.status === 404) showMessage(tr("shop.alreadyExpired"), "info");
    } else {
      for (const id of ids) delete v.tariffs[id];
      if (places) v.tariffs.places = (v.tariffs.places || []).slice(0, remainingPlaces);
      store.setTariffs(v.id, v.tariffs);
      setMine(v, remainingSeats, remainingPlaces);
    }
  } else {
    showMessage(r.error?.message || tr("shop.cannotRelease"));
  }
}

export async function extendHold() {
  const v = view;
  if (!v || !v.token) return;
  await enqueue(async () => {
    const r = await api("POST", `/api/sessions/${v.id}/holds/${encodeURIComponent(v.token)}/extend`);
    if (v.closed) return;
    if (r.ok) {
      applyHoldInfo(v, r.data);
      redraw.cart();
      showMessage(tr("shop.extended", { time: clock(r.data.expires_in_ms) }), "success", 3000);
    } else if (r.status === 404 || r.status === 410) {
      forgetHold(v, tr("shop.expired"));
    } else {
      showMessage(r.error?.message || tr("shop.cannotExtend"));
    }
  });
}

export function tick() {
  const v = view;
  if (!v || !v.token || (!v.mine.length && !v.places)) return;
  const left = v.expiresAt - Date.now();
  const el = $("hold-countdown");
  el.textContent = clock(left);
  $("hold-timer").classList.toggle("urgent", left < 60000);
  tickBasketBar(clock(left), left < 60000);
  if (left < 60000 && !v.warned) {
    v.warned = true;
    showMessage(tr("shop.lastMinute"), "info");
  }
  if (left >= 60000) v.warned = false;
  if (left <= 0 && !v.busy && !v.buying) {
    forgetHold(v, tr("shop.expired"));
  }
  const atCap = v.capAt && v.capAt - v.expiresAt < 1000;
  $("extend").disabled = Boolean(atCap);
  $("extend").title = atCap ? tr("shop.atCap") : "";
}
