// The organiser's live dashboard: one card per session of today and the coming days, with
// the fill gauge (`gauge:<id>`, public) and the door figures (`door:<id>`, roles stats,
// entry_check or admin) pushed over one WebSocket, and, for admins, "release unscanned
// reservations" (preview, then confirm with the previewed count).
// The page runs on the staff session (cookie): signed-out visitors are sent to /signin.html,
// the WebSocket authenticates with the cookie, and a revoked session sends the page back to
// the sign-in page at once.

import { PROTOCOL } from "./protocol.js";
import { DoorLink } from "./scanner-link.js";
import { textFor } from "./scanner-text.js";
import { i18n, language, locale, t } from "./i18n.js";
import "./dashboard-text.js";
import { mountBars } from "./dashboard-bars.js";
import { everything } from "./paging.js";
import { addConnectionIndicator, api as sessionApi, can, requireSession, watchSession }
  from "./session.js";

const { CHANNEL, SERVER, ERROR } = PROTOCOL;
const $ = (id) => document.getElementById(id);
const MAX_CARDS = 30;
const MAX_CHANNELS = 60; // the server allows 64 per connection; keep a margin
const REFRESH_MS = 120000; // the session list (sessions end, new ones start)
let words = textFor(language());

const state = {
  user: null, // /api/auth/me
  link: null,
  cards: new Map(), // session id -> card
  timer: null,
};

// -- small helpers -------------------------------------------------------------------------------

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const fmt = (n) => new Intl.NumberFormat(locale()).format(n ?? 0);

const seesDoors = () => can(state.user, "stats.read", "door.scan");
const mayRelease = () => can(state.user, "door.release");
const api = (method, path, body) => sessionApi(method, path, body);

function message(text, kind = "error") {
  const box = h("div", { class: `msg msg-${kind}`, "data-testid": "message" },
    h("span", {}, text),
    h("button", { type: "button", class: "msg-close", "aria-label": t("dismiss"),
      onclick: () => box.remove() }, "×"));
  $("messages").append(box);
  setTimeout(() => box.remove(), kind === "error" ? 10000 : 6000);
}


// -- time labels --------------------------------------------------------------------------------

function dayStart(d) {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

function whenLabel(starts) {
  const days = Math.round((dayStart(starts) - dayStart(new Date())) / 86400000);
  const time = starts.toLocaleTimeString(locale(), { hour: "2-digit", minute: "2-digit" });
  if (days === 0) return t("dash.today", { time });
  if (days === 1) return t("dash.tomorrow", { time });
  const day = starts.toLocaleDateString(locale(), { weekday: "short", day: "numeric", month: "short" });
  return `${day} ${time}`;
}

function phase(session, now = Date.now()) {
  const start = Date.parse(session.starts_at);
  const end = Date.parse(session.ends_at);
  if (start <= now && now < end) return { key: "on", label: t("dash.onNow") };
  const minutes = Math.round((start - now) / 60000);
  if (minutes >= 0 && minutes <= 90) {
    return { key: "soon", label: minutes <= 1 ? t("dash.starting") : t("dash.startsIn", { minutes }) };
  }
  return null;
}

// -- connection ---------------------------------------------------------------------------------

function renderConnection() {
  const status = state.link ? state.link.status : "closed";
  // Figures freeze while the link is down: say so rather than show stale numbers as live.
  $("grid").dataset.live = status === "open" ? "true" : "false";
}

function connect() {
  const link = new DoorLink(null); // no token: the session cookie signs the socket in
  state.link = link;
  link.addEventListener("status", renderConnection);
  watchSession(link);
  addConnectionIndicator(link);
  renderConnection();
}

// -- cards --------------------------------------------------------------------------------------

function figure(label, testid, unit) {
  const value = h(unit ? "span" : "dd", { "data-testid": testid }, "–");
  return {
    el: h("div", { class: `figure figure-${testid}` }, h("dt", {}, label),
      unit ? h("dd", {}, value, h("small", {}, unit)) : value),
    value,
  };
}

function createCard(session) {
  const id = session.id;
  const titleId = `session-${id}-title`;
  const refs = {};

  // fill gauge
  refs.barSold = h("span", { class: "fill-sold" });
  refs.barHeld = h("span", { class: "fill-held" });
  refs.meter = h("div", {
    class: "fill-bar", role: "meter", "aria-valuemin": 0, "aria-valuemax": 1, "aria-valuenow": 0,
    "aria-label": t("dash.soldHeld"), "data-testid": "fill-bar",
  }, refs.barSold, refs.barHeld);
  const legendItem = (key, label) => {
    refs[key] = h("strong", { "data-testid": key }, "–");
    return h("li", { class: `fill-${key}-item` },
      h("span", { class: `swatch-dot dot-${key}`, "aria-hidden": "true" }), refs[key], ` ${label}`);
  };
  refs.capacity = h("span", { "data-testid": "capacity" }, "–");
  refs.percent = h("strong", { class: "fill-percent", "data-testid": "fill-percent" }, "–");
  const gauge = h("section", { class: "fill", "aria-label": t("dash.fill") },
    h("div", { class: "fill-head" }, h("span", {}, refs.percent, " ", t("dash.full")),
      h("span", { class: "muted small" }, t("dash.capacity"), " ", refs.capacity)),
    refs.meter,
    h("ul", { class: "fill-legend", "aria-label": t("dash.seats") },
      legendItem("sold", t("dash.sold")), legendItem("held", t("dash.held")),
      legendItem("free", t("dash.free"))));

  // door figures
  let door = null;
  if (seesDoors()) {
    const entered = figure(t("dash.entered"), "entered");
    const inside = figure(t("dash.inside"), "inside");
    const refused = figure(t("dash.refused"), "refused");
    const rate = figure(t("dash.entries"), "rate", "/min");
    refs.entered = entered.value;
    refs.inside = inside.value;
    refs.refused = refused.value;
    refs.rate = rate.value;
    refs.doorNote = h("p", { class: "muted small door-note", "data-testid": "door-note" },
      t("dash.waiting"));
    refs.doorsBody = h("tbody", {});
    refs.doorsTable = h("table", { class: "doors", "data-testid": "doors", hidden: true },
      h("caption", { class: "sr-only" }, t("dash.perDoor")),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, t("dash.door")),
        h("th", { scope: "col" }, t("dash.in")),
        h("th", { scope: "col" }, t("dash.out")),
        h("th", { scope: "col" }, t("dash.refused")),
        h("th", { scope: "col" }, h("abbr", { title: t("dash.perMinute") }, "/min")))),
      refs.doorsBody);
    refs.reasons = h("ul", { class: "reasons", "data-testid": "refusals" });
    refs.reasonsBox = h("div", { class: "reasons-box", hidden: true },
      h("h3", { class: "mini-title" }, t("dash.refusals")), refs.reasons);
    door = h("section", { class: "door", "aria-label": t("dash.atDoors") },
      h("dl", { class: "figures" }, entered.el, inside.el, refused.el, rate.el),
      refs.doorNote, refs.doorsTable, refs.reasonsBox);
  }

  refs.when = h("time", { class: "dash-when", datetime: session.starts_at },
    whenLabel(new Date(session.starts_at)));
  refs.phase = h("span", { class: "phase", "data-testid": "phase", hidden: true });

  const actions = mayRelease()
    ? h("footer", { class: "dash-actions" },
      h("button", { type: "button", class: "btn btn-small", "data-testid": "release-open",
        "aria-describedby": titleId, onclick: () => openRelease(card) },
      t("dash.releaseOpen")))
    : null;

  const el = h("article", {
    class: "dash-card", "data-testid": "session-card", "data-session-id": id,
    "aria-labelledby": titleId,
  },
  h("header", { class: "dash-card-head" },
    h("div", { class: "dash-card-title" },
      h("h2", { id: titleId, "data-testid": "event" }, session.event_name), refs.phase),
    h("p", { class: "muted small" }, refs.when, " · ",
      h("span", { "data-testid": "room" }, session.room_name),
      session.venue_name ? ` · ${session.venue_name}` : "",
      session.seated ? "" : ` · ${t("dash.standing")}`)),
  gauge, door, actions);

  const card = { id, session, el, refs, subs: [] };
  updatePhase(card);

  const link = state.link;
  card.subs.push(link.subscribe(`${CHANNEL.GAUGE}:${id}`, (m) => onGauge(card, m)));
  if (door) card.subs.push(link.subscribe(`${CHANNEL.DOOR}:${id}`, (m) => onDoor(card, m)));
  card.close = () => {
    for (const sub of card.subs) sub.close();
    card.subs = [];
  };
  return card;
}

function updatePhase(card) {
  const p = phase(card.session);
  card.refs.phase.hidden = !p;
  card.refs.phase.textContent = p ? p.label : "";
  card.refs.phase.dataset.phase = p ? p.key : "";
  card.el.dataset.phase = p ? p.key : "later";
}

function onGauge(card, m) {
  if (m.type === SERVER.ERROR) {
    if (m.code !== ERROR.UNAVAILABLE) card.refs.percent.textContent = "?";
    return;
  }
  if (m.type !== SERVER.GAUGE) return;
  const { refs } = card;
  const capacity = m.capacity || 0;
  const sold = m.sold || 0;
  const held = m.held || 0;
  const free = m.free ?? Math.max(0, capacity - sold - held);
  const pct = (n) => (capacity ? Math.min(100, (100 * n) / capacity) : 0);
  refs.barSold.style.width = `${pct(sold)}%`;
  refs.barHeld.style.width = `${pct(held)}%`;
  refs.sold.textContent = fmt(sold);
  refs.held.textContent = fmt(held);
  refs.free.textContent = fmt(free);
  refs.capacity.textContent = fmt(capacity);
  refs.percent.textContent = `${Math.round(pct(sold + held))}%`;
  refs.meter.setAttribute("aria-valuemax", String(Math.max(capacity, 1)));
  refs.meter.setAttribute("aria-valuenow", String(Math.min(sold + held, Math.max(capacity, 1))));
  refs.meter.setAttribute("aria-valuetext",
    t("dash.valuetext", { sold: fmt(sold), held: fmt(held), free: fmt(free),
      capacity: fmt(capacity) }));
  card.el.dataset.full = capacity > 0 && free === 0 ? "true" : "false";
}

function reasonWords(reason) {
  const said = words.reason({ reason });
  return said && said !== reason ? said : reason.replaceAll("_", " ");
}

function onDoor(card, m) {
  const { refs } = card;
  if (m.type === SERVER.ERROR) {
    if (m.code === ERROR.FORBIDDEN) {
      refs.doorNote.textContent = t("dash.doorForbidden");
    } else if (m.code === ERROR.UNAVAILABLE) {
      refs.doorNote.textContent = t("dash.doorRetrying");
    } else {
      refs.doorNote.textContent = t("dash.doorUnavailable", { code: m.code });
    }
    refs.doorNote.hidden = false;
    return;
  }
  if (m.type !== SERVER.DOOR || !m.counters) return; // `revoked` frames: nothing to show
  const c = m.counters;
  refs.entered.textContent = fmt(c.entered);
  refs.inside.textContent = fmt(c.inside ?? (c.entered || 0) - (c.exited || 0));
  refs.refused.textContent = fmt(c.refused);
  refs.refused.dataset.zero = c.refused ? "false" : "true";
  refs.rate.textContent = fmt(c.rate_per_minute);

  const doors = Object.entries(c.doors || {}).sort(([a], [b]) => a.localeCompare(b));
  refs.doorsBody.replaceChildren(...doors.map(([name, d]) =>
    h("tr", { "data-testid": "door-row", "data-door": name },
      h("th", { scope: "row" }, name),
      h("td", { "data-testid": "door-entered" }, fmt(d.entered)),
      h("td", { "data-testid": "door-exited" }, fmt(d.exited)),
      h("td", { "data-testid": "door-refused" }, fmt(d.refused)),
      h("td", { "data-testid": "door-rate" }, fmt(d.rate_per_minute)))));
  refs.doorsTable.hidden = doors.length === 0;
  refs.doorNote.hidden = doors.length > 0;
  refs.doorNote.textContent = t("dash.noScans");

  const reasons = Object.entries(c.refused_by_reason || {})
    .filter(([, n]) => n > 0)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  refs.reasons.replaceChildren(...reasons.map(([reason, n]) =>
    h("li", { "data-testid": "refusal", "data-reason": reason },
      h("span", {}, reasonWords(reason)),
      h("strong", { "data-testid": "refusal-count" }, fmt(n)))));
  refs.reasonsBox.hidden = reasons.length === 0;
}

// -- the grid -----------------------------------------------------------------------------------

async function loadSessions() {
  let data;
  try {
    data = await everything((path) => api("GET", path), "/api/sessions", "sessions");
  } catch (err) {
    if (!state.cards.size) {
      $("grid").replaceChildren(h("p", { class: "banner" }, t("dash.loadFailed"), " ",
        h("button", { type: "button", class: "btn btn-small", onclick: () => loadSessions() },
          t("retry"))));
    } else {
      message(t("dash.refreshFailed", { message: err.message }));
    }
    return;
  }
  if (!state.link) return; // signed out meanwhile
  renderSessions(data.sessions || []);
}

function renderSessions(all) {
  const now = Date.now();
  const sessions = all
    .filter((s) => Date.parse(s.ends_at) > now)
    .sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at) || a.id - b.id);
  const perCard = seesDoors() ? 2 : 1;
  const limit = Math.min(MAX_CARDS, Math.floor(MAX_CHANNELS / perCard));
  const shown = sessions.slice(0, limit);
  const ids = new Set(shown.map((s) => s.id));

  for (const [id, card] of state.cards) {
    if (!ids.has(id)) {
      card.close();
      state.cards.delete(id);
    }
  }
  const nodes = shown.map((s) => {
    let card = state.cards.get(s.id);
    if (!card) {
      card = createCard(s);
      state.cards.set(s.id, card);
    } else {
      updatePhase(card);
    }
    return card.el;
  });

  const grid = $("grid");
  if (!nodes.length) {
    grid.replaceChildren(h("p", { class: "muted", "data-testid": "no-sessions" },
      t("dash.noSessions")));
  } else {
    const current = [...grid.children];
    const same = current.length === nodes.length && current.every((n, i) => n === nodes[i]);
    if (!same) grid.replaceChildren(...nodes);
  }
  $("dash-summary").textContent = sessions.length > shown.length
    ? t("dash.summarySome", { shown: shown.length, total: sessions.length })
    : t("dash.summaryAll", { total: sessions.length });
}

// -- release unscanned reservations (admins) ----------------------------------------------------

const release = { card: null, count: null, busy: false, seq: 0 };

function openRelease(card) {
  release.card = card;
  release.count = null;
  $("release-session").textContent =
    `${card.session.event_name} · ${whenLabel(new Date(card.session.starts_at))} · ${card.session.room_name}`;
  $("release-problem").hidden = true;
  $("release-preview").replaceChildren();
  $("release-dialog").showModal();
  previewRelease();
}

function minutes() {
  const input = $("release-minutes");
  const value = Number(input.value);
  return Number.isInteger(value) && value >= 0 ? value : null;
}

function renderConfirm() {
  const button = $("release-confirm");
  const n = release.count;
  button.disabled = release.busy || !n;
  button.textContent = n ? t("dash.releaseN", { n }) : t("dash.release");
}

async function previewRelease() {
  const card = release.card;
  const mins = minutes();
  const box = $("release-preview");
  release.count = null;
  renderConfirm();
  if (!card) return;
  if (mins === null) {
    box.replaceChildren(h("p", { class: "muted" }, t("dash.enterMinutes")));
    return;
  }
  const seq = ++release.seq;
  box.replaceChildren(h("p", { class: "muted" }, t("dash.looking")));
  let data;
  try {
    data = await api("GET",
      `/api/sessions/${card.id}/unscanned-reservations?older_than_minutes=${mins}`);
  } catch (err) {
    if (seq !== release.seq) return;
    box.replaceChildren(h("p", { class: "banner banner-error" },
      t("dash.previewFailed", { message: err.message })));
    return;
  }
  if (seq !== release.seq) return;
  release.count = data.count;
  box.dataset.count = String(data.count);
  if (!data.count) {
    box.replaceChildren(h("p", { "data-testid": "release-count", "data-count": "0" },
      t("dash.nothing", { mins })));
  } else {
    const seats = data.seats || [];
    box.replaceChildren(
      h("p", { "data-testid": "release-count", "data-count": data.count },
        h("strong", {}, fmt(data.count)), " ",
        t("dash.unscanned", { n: data.count, mins }),
        data.places ? ` ${t("dash.places", { n: data.places, places: fmt(data.places) })}` : "",
        "."),
      seats.length
        ? h("div", {},
          h("p", { class: "small muted", id: "release-seats-label" }, t("dash.seatsBack")),
          h("ul", { class: "seat-chips", "data-testid": "release-seats",
            "aria-labelledby": "release-seats-label" },
          seats.map((s) => h("li", {}, s))))
        : null);
  }
  renderConfirm();
}

async function confirmRelease() {
  const card = release.card;
  const expected = release.count;
  const mins = minutes();
  if (!card || !expected || mins === null) return;
  release.busy = true;
  renderConfirm();
  const problem = $("release-problem");
  problem.hidden = true;
  try {
    const data = await api("POST", `/api/sessions/${card.id}/release-unscanned`,
      { older_than_minutes: mins, expected_count: expected });
    $("release-dialog").close();
    const seats = (data.seats || []).join(", ");
    message(t("dash.released", { n: data.count, count: fmt(data.count),
      event: card.session.event_name, seats }), "success");
  } catch (err) {
    if (err.code === "count_changed") {
      const now = err.details.count;
      problem.dataset.code = "count_changed";
      problem.replaceChildren(
        h("strong", {}, t("dash.nothingReleased"), " "),
        t("dash.countChanged", { now: fmt(now), expected: fmt(expected) }));
      problem.hidden = false;
      release.busy = false;
      await previewRelease();
      return;
    }
    problem.dataset.code = err.code || "error";
    problem.textContent = t("dash.releaseFailed", { message: err.message });
    problem.hidden = false;
  } finally {
    release.busy = false;
    renderConfirm();
  }
}

// -- start ------------------------------------------------------------------------------------

function start() {
  $("view-dashboard").hidden = false;
  connect();
  if (can(state.user, "stats.read", "accounting.read")) mountBars($("bars"), state.link);
  loadSessions();
  state.timer = setInterval(loadSessions, REFRESH_MS);
}

function init() {
  $("release-cancel").addEventListener("click", () => $("release-dialog").close());
  $("release-preview-btn").addEventListener("click", () => {
    $("release-problem").hidden = true;
    previewRelease();
  });
  $("release-confirm").addEventListener("click", confirmRelease);
  $("release-form").addEventListener("submit", (event) => {
    event.preventDefault(); // Enter in the minutes field previews, it does not close
    $("release-problem").hidden = true;
    previewRelease();
  });
  $("release-minutes").addEventListener("change", previewRelease);
  $("release-dialog").addEventListener("close", () => {
    release.card = null;
    release.seq += 1;
  });
  window.__guichetDashboard = state; // for tests and debugging
  i18n.addEventListener("languagechange", () => {
    words = textFor(language());
    for (const card of state.cards.values()) card.close();
    state.cards.clear(); // rebuilt in the new language
    loadSessions();
  });
  start();
}

state.user = await requireSession(["stats.read", "door.manage"]);
if (state.user) init();
