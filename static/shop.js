// The e-shop: session list, live seat map, basket with hold countdown, purchase.
// Plain ES module, no build step. Routes: #/ (sessions) and #/session/<id>.
// `bootShop(options)` starts it: index.html (shop-public.js) for buyers, pos.html for a
// signed-in cashier (extra request headers for the session's CSRF token, 401 handling).

import { PROTOCOL } from "./protocol.js";
import { LiveClient } from "./live.js";
import { SeatMap } from "./seatmap.js";
import { everything } from "./paging.js";
import { showBasketBar, tickBasketBar, wireBasketBar } from "./shop-bar.js";
import { applyTranslations, i18n, locale, t as tr } from "./i18n.js";
import "./shop-text.js";

const { SERVER, CHANNEL, ERROR, SEAT_STATE } = PROTOCOL;
const $ = (id) => document.getElementById(id);

// -- small helpers ------------------------------------------------------------------------------

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function money(cents, currency = "EUR") {
  return new Intl.NumberFormat(locale(), { style: "currency", currency }).format(cents / 100);
}

function clock(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

function dayKey(date) {
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}

function dayLabel(date) {
  const today = new Date();
  const tomorrow = new Date(today.getFullYear(), today.getMonth(), today.getDate() + 1);
  if (dayKey(date) === dayKey(today)) return tr("shop.today");
  if (dayKey(date) === dayKey(tomorrow)) return tr("shop.tomorrow");
  return date.toLocaleDateString(locale(), { weekday: "long", day: "numeric", month: "long" });
}

function timeLabel(date) {
  return date.toLocaleTimeString(locale(), { hour: "2-digit", minute: "2-digit" });
}

/** Whether the shop sells this session now: sales open, and not started (unless the organiser
 * sells online after the start: 409 session_started otherwise). */
function onSale(s) {
  return s.sales_open && (s.sell_online_after_start || new Date(s.starts_at) > new Date());
}

function randomKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

class NetworkError extends Error {}

const options = { headers: async () => ({}), onUnauthorized: () => {} };

async function api(method, path, body) {
  let response;
  const headers = { ...(await options.headers(method)) };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new NetworkError(String(err));
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  const error = (data && data.error) || (response.ok ? null : { code: "http_" + response.status });
  if (response.status === 401) options.onUnauthorized(error);
  return { ok: response.ok, status: response.status, data, error };
}

// -- messages -----------------------------------------------------------------------------------

function showMessage(text, kind = "error", timeout = kind === "error" ? 9000 : 5000) {
  const box = $("messages");
  const close = h("button", { type: "button", class: "msg-close", "aria-label": tr("shop.dismiss") }, "×");
  const msg = h("div", {
    class: `msg msg-${kind}`, role: kind === "error" ? "alert" : "status",
    "data-testid": "message", "data-kind": kind,
  }, h("span", {}, text), close);
  close.addEventListener("click", () => msg.remove());
  box.append(msg);
  while (box.children.length > 3) box.firstElementChild.remove();
  if (timeout) setTimeout(() => msg.remove(), timeout);
}

function clearMessages() {
  $("messages").replaceChildren();
}

// -- live connection -----------------------------------------------------------------------------

let live = null; // the badge: connection.js (shop-public.js)

// -- storage ----------------------------------------------------------------------------------

const store = {
  token: (sid) => sessionStorage.getItem(`guichet.hold.${sid}`),
  setToken: (sid, token) => sessionStorage.setItem(`guichet.hold.${sid}`, token),
  forget: (sid) => {
    sessionStorage.removeItem(`guichet.hold.${sid}`);
    sessionStorage.removeItem(`guichet.tariffs.${sid}`);
  },
  tariffs: (sid) => {
    try {
      return JSON.parse(sessionStorage.getItem(`guichet.tariffs.${sid}`)) || {};
    } catch {
      return {};
    }
  },
  setTariffs: (sid, value) => sessionStorage.setItem(`guichet.tariffs.${sid}`, JSON.stringify(value)),
};

// -- session list -------------------------------------------------------------------------------

let listSubs = [];

function gaugeEl(g) {
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

async function showList() {
  document.title = tr("shop.pageTitle");
  $("view-session").hidden = true;
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
      h("button", { type: "button", class: "btn btn-small", onclick: () => showList() },
        tr("shop.retry"))));
    return;
  }
  if (currentRoute().name !== "list") return;
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

function leaveList() {
  for (const sub of listSubs) sub.close();
  listSubs = [];
}

// -- session view -------------------------------------------------------------------------------

let view = null;

function leaveSession() {
  if (!view) return;
  view.closed = true;
  view.sub?.close();
  clearInterval(view.timer);
  clearTimeout(view.reconcileTimer);
  view.map = null;
  view = null;
  window.__guichet.view = null;
}

async function showSession(sessionId) {
  $("view-list").hidden = true;
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
  view = v;
  window.__guichet.view = v;
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

/** A seat of my hold that the live map no longer shows held: ask the server what I hold. */
function checkMine() {
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

function enqueue(fn) {
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
  renderCart();
  if (!v.seated) renderGaPanel();
}

function forgetHold(v, message) {
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

async function restoreHold() {
  const v = view;
  if (!v.token) return;
  await enqueue(() => reconcile(v));
}

async function reconcile(v) {
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

function onSeatClick(seat, state) {
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

function seatName(v, id) {
  const i = v.map ? v.map.indexOf(id) : -1;
  if (i < 0) return id;
  const s = v.map.seat(i);
  return `${v.map.multiZone ? `${s.zone}, ` : ""}${tr("shop.seatName", { row: s.row, label: s.label })}`;
}

/** Hold seats (or GA places) under my token; a new token is made when I have none. */
async function addToHold(v, body, pendingIds = [], retried = false) {
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
      renderCart();
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

async function releaseSeats(v, ids, places = 0) {
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

async function extendHold() {
  const v = view;
  if (!v || !v.token) return;
  await enqueue(async () => {
    const r = await api("POST", `/api/sessions/${v.id}/holds/${encodeURIComponent(v.token)}/extend`);
    if (v.closed) return;
    if (r.ok) {
      applyHoldInfo(v, r.data);
      renderCart();
      showMessage(tr("shop.extended", { time: clock(r.data.expires_in_ms) }), "success", 3000);
    } else if (r.status === 404 || r.status === 410) {
      forgetHold(v, tr("shop.expired"));
    } else {
      showMessage(r.error?.message || tr("shop.cannotExtend"));
    }
  });
}

function tick() {
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

// -- basket -------------------------------------------------------------------------------------

/** The tariffs on sale for a seat of ``category`` (any category for a place): active, and
 * bound to no category or to this one (the server refuses the others: tariff_not_for_seat). */
function tariffList(category) {
  return (view?.detail?.tariffs || []).filter((t) => t.active !== false
    && (category === undefined || !t.categories?.length || t.categories.includes(category)));
}

function tariffFor(key, category) {
  const tariffs = tariffList(category);
  const chosen = Number(key);
  return tariffs.find((t) => t.id === chosen) || tariffs[0];
}

function seatCategory(v, id) {
  const i = v.map ? v.map.indexOf(id) : -1;
  return i < 0 ? undefined : v.map.seat(i).category;
}

/** Lines of the basket: {key, label, category, tariff} per seat or place. */
function basketLines(v) {
  const lines = v.mine.map((id) => {
    const category = seatCategory(v, id);
    return { key: id, label: seatName(v, id), category, tariff: tariffFor(v.tariffs[id], category) };
  });
  const places = v.tariffs.places || [];
  for (let i = 0; i < v.places; i++) {
    lines.push({ key: `place-${i}`, place: i, label: tr("shop.place", { n: i + 1 }), tariff: tariffFor(places[i]) });
  }
  return lines;
}

function renderTotal() {
  const v = view;
  const lines = basketLines(v);
  const currency = lines[0]?.tariff?.currency || "EUR";
  const total = lines.reduce((sum, l) => sum + (l.tariff?.price_cents || 0), 0);
  $("cart-total").textContent = money(total, currency);
  showBasketBar(lines.length, money(total, currency));
  for (const l of lines) {
    const line = document.querySelector(`[data-line-key="${CSS.escape(l.key)}"]`);
    const el = line?.querySelector(".line-price");
    if (el && l.tariff) el.textContent = money(l.tariff.price_cents, l.tariff.currency);
    const note = line?.querySelector(".line-note");
    if (note) {
      note.textContent = l.tariff?.note || "";
      note.hidden = !l.tariff?.note;
    }
  }
}

function renderCart() {
  const v = view;
  if (!v) return;
  const lines = basketLines(v);
  const items = $("cart-items");
  items.replaceChildren(...lines.map((l) => {
    const select = h("select", {
      "aria-label": tr("shop.tariffFor", { label: l.label }), "data-testid": "tariff-select",
      onchange: (e) => {
        if (l.place !== undefined) {
          const places = v.tariffs.places || [];
          places[l.place] = Number(e.target.value);
          v.tariffs.places = places;
        } else {
          v.tariffs[l.key] = Number(e.target.value);
        }
        store.setTariffs(v.id, v.tariffs);
        renderTotal();
      },
    }, tariffList(l.category).map((t) => h("option", { value: t.id, selected: t.id === l.tariff?.id },
      `${t.name} (${money(t.price_cents, t.currency)})`)));
    const noteId = `note-${l.key}`;
    select.setAttribute("aria-describedby", noteId);
    const remove = h("button", {
      type: "button", class: "btn-icon", "aria-label": tr("shop.removeLine", { label: l.label }), title: tr("shop.remove"),
      onclick: () => (l.place !== undefined
        ? enqueue(() => releaseSeats(v, [], 1))
        : enqueue(() => releaseSeats(v, [l.key]))),
    }, "×");
    return h("li", {
      class: "cart-item", "data-testid": "cart-item", "data-line-key": l.key,
      "data-seat-id": l.place === undefined ? l.key : null,
    },
    h("span", { class: "line-label" }, l.label),
    select,
    h("span", { class: "line-price" }),
    remove,
    h("span", { class: "line-note muted", id: noteId, "data-testid": "tariff-note", hidden: true }));
  }));
  const empty = lines.length === 0;
  $("cart-empty").hidden = !empty;
  $("cart-empty").textContent = v.seated
    ? tr("shop.emptySeated")
    : tr("shop.emptyGa");
  $("cart-summary").hidden = empty;
  $("buy").disabled = empty || v.buying;
  $("buy").textContent = v.buying ? tr("shop.buying") : tr("shop.buyN", { n: lines.length });
  renderTotal();
  tick();
}

// -- general admission --------------------------------------------------------------------------

function renderGaPanel() {
  const v = view;
  const panel = $("ga-panel");
  panel.hidden = false;
  const free = v.gauge ? v.gauge.free : null;
  const closed = !onSale(v.detail);
  panel.replaceChildren(
    h("h2", {}, tr("shop.ga")),
    h("p", { class: "muted" }, tr("shop.gaAbout"), " ",
      free === null ? "" : free === 0 ? tr("shop.gaNone") : tr("shop.gaLeft", { free })),
    h("div", { class: "stepper", role: "group", "aria-label": tr("shop.count") },
      h("button", {
        type: "button", class: "btn", "aria-label": tr("shop.less"), "data-testid": "ga-minus",
        disabled: v.places === 0 || closed, onclick: () => enqueue(() => releaseSeats(v, [], 1)),
      }, "−"),
      h("output", { class: "stepper-value", "data-testid": "ga-quantity", "aria-live": "polite" },
        String(v.places)),
      h("button", {
        type: "button", class: "btn", "aria-label": tr("shop.more"), "data-testid": "ga-plus",
        disabled: closed || free === 0 || v.places >= 50,
        onclick: () => enqueue(() => addToHold(v, { quantity: 1 })),
      }, "+")),
  );
}

// -- purchase -----------------------------------------------------------------------------------

async function buy(event) {
  event.preventDefault();
  const v = view;
  if (!v || v.buying || !v.token) return;
  const form = $("buy-form");
  if (!form.checkValidity()) {
    form.reportValidity();
    showMessage(tr("shop.enterBuyer"), "info");
    return;
  }
  const lines = basketLines(v);
  if (!lines.length) return;
  const unpriced = lines.filter((l) => !l.tariff);
  if (unpriced.length) {
    showMessage(tr("shop.noTariff", { labels: unpriced.map((l) => l.label).join("; ") }));
    return;
  }
  const items = [];
  const places = new Map();
  for (const l of lines) {
    if (l.place === undefined) items.push({ seat: l.key, tariff_id: l.tariff.id });
    else places.set(l.tariff.id, (places.get(l.tariff.id) || 0) + 1);
  }
  for (const [tariff_id, quantity] of places) items.push({ tariff_id, quantity });
  // One idempotency key per purchase attempt: a retry after a network error cannot sell twice.
  v.orderKey = v.orderKey || randomKey();
  const body = {
    hold_token: v.token,
    idempotency_key: v.orderKey,
    items,
    buyer: { name: $("buyer-name").value.trim(), email: $("buyer-email").value.trim() },
  };
  await enqueue(async () => {
    v.buying = true;
    renderCart();
    let r;
    try {
      r = await api("POST", `/api/sessions/${v.id}/orders`, body);
    } catch (err) {
      v.buying = false;
      renderCart();
      showMessage(tr("shop.networkBuy"));
      return;
    }
    v.buying = false;
    if (v.closed) return;
    if (r.ok && r.data.status === "pending" && r.data.payment?.redirect_url) {
      // Paid online: the hold stays claimed while the buyer pays; the provider sends them
      // back to the order page (order.html#<link>), which follows the payment.
      forgetHold(v);
      showMessage(tr("shop.toPayment"), "info");
      location.assign(r.data.payment.redirect_url);
      return;
    }
    if (r.ok) {
      forgetHold(v);
      showOrder(v, r.data);
      return;
    }
    const code = r.error?.code;
    if (r.status === 503) {
      renderCart();
      showMessage(tr("shop.busyBuy"));
      return;
    }
    v.orderKey = null;
    if (["seats_not_held", "places_not_held", "unknown_hold", "hold_expired"].includes(code)) {
      showMessage(tr("shop.expiredBuy"));
      await reconcile(v);
    } else if (code === "sales_closed" || code === "session_started") {
      showMessage(tr(code === "sales_closed" ? "shop.closedBuy" : "shop.startedBanner"));
    } else {
      showMessage(r.error?.message || tr("shop.failedBuy"));
    }
    renderCart();
  });
}

function showOrder(v, order) {
  const box = $("order");
  const name = (order.buyer_name || "").trim();
  box.replaceChildren(
    h("h2", { id: "order-title" }, tr("shop.thanks"), name ? `, ${name}` : "", "!"),
    h("p", {}, tr("shop.confirmed", { id: order.id, n: order.tickets.length }),
      h("strong", { "data-testid": "order-total" }, money(order.total_cents, order.currency)), "."),
    h("ul", { class: "tickets", "data-testid": "tickets" }, order.tickets.map((t) =>
      h("li", { class: "ticket", "data-testid": "ticket", "data-seat-id": t.seat_id || null },
        h("span", { class: "ticket-seat" }, t.seat_id ? seatName(v, t.seat_id) : tr("shop.ga")),
        h("span", { class: "ticket-tariff muted" }, t.tariff),
        h("span", { class: "ticket-price" }, money(t.price_cents, order.currency)),
        h("span", { class: "ticket-id muted small" }, tr("shop.ticket", { id: t.id }))))),
    order.link
      ? h("p", {}, h("a", { href: `order.html#${order.link}`, "data-testid": "order-link" },
        tr("shop.orderPage")))
      : null,
    h("p", { class: "small muted" }, tr("shop.keep")),
    h("button", {
      type: "button", class: "btn", onclick: () => {
        box.hidden = true;
        box.replaceChildren();
      },
    }, tr("shop.close")),
  );
  box.hidden = false;
  box.scrollIntoView({ behavior: "smooth", block: "start" });
  box.focus({ preventScroll: true });
}

// -- routing ------------------------------------------------------------------------------------

function currentRoute() {
  const m = /^#\/session\/(\d+)\/?$/.exec(window.location.hash);
  return m ? { name: "session", id: Number(m[1]) } : { name: "list" };
}

let shownRoute = "";

function route() {
  const r = currentRoute();
  const key = r.name === "session" ? `session:${r.id}` : "list";
  if (key === shownRoute) return;
  shownRoute = key;
  clearMessages();
  leaveList();
  leaveSession();
  if (r.name === "session") showSession(r.id);
  else showList();
  $("main").focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

/**
 * Start the shop on this page. `headers(method)`: extra request headers (may be async);
 * `onUnauthorized(error)`: called on any 401; `client`: a LiveClient of the caller's (e.g. one
 * that authenticates). Returns the LiveClient (for a status indicator).
 */
export function bootShop({ headers, onUnauthorized, client } = {}) {
  if (headers) options.headers = headers;
  if (onUnauthorized) options.onUnauthorized = onUnauthorized;
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
  wireBasketBar();
  window.addEventListener("hashchange", route);
  route();
  return live;
}
