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
import { everything } from "./paging.js";
import { addConnectionIndicator, api as sessionApi, can, requireSession, watchSession }
  from "./session.js";

const { CHANNEL, SERVER, ERROR } = PROTOCOL;
const $ = (id) => document.getElementById(id);
const MAX_CARDS = 30;
const MAX_CHANNELS = 60; // the server allows 64 per connection; keep a margin
const REFRESH_MS = 120000; // the session list (sessions end, new ones start)
const words = textFor("en");

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

const number = new Intl.NumberFormat("en-GB");
const fmt = (n) => number.format(n ?? 0);

const seesDoors = () => can(state.user, "stats.read", "door.scan");
const mayRelease = () => can(state.user, "door.release");
const api = (method, path, body) => sessionApi(method, path, body);

function message(text, kind = "error") {
  const box = h("div", { class: `msg msg-${kind}`, "data-testid": "message" },
    h("span", {}, text),
    h("button", { type: "button", class: "msg-close", "aria-label": "Dismiss",
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
  const time = starts.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
  if (days === 0) return `Today ${time}`;
  if (days === 1) return `Tomorrow ${time}`;
  const day = starts.toLocaleDateString("en-GB", { weekday: "short", day: "numeric", month: "short" });
  return `${day} ${time}`;
}

function phase(session, now = Date.now()) {
  const start = Date.parse(session.starts_at);
  const end = Date.parse(session.ends_at);
  if (start <= now && now < end) return { key: "on", label: "On now" };
  const minutes = Math.round((start - now) / 60000);
  if (minutes >= 0 && minutes <= 90) {
    return { key: "soon", label: minutes <= 1 ? "Starting" : `Starts in ${minutes} min` };
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
    "aria-label": "Seats sold and held", "data-testid": "fill-bar",
  }, refs.barSold, refs.barHeld);
  const legendItem = (key, label) => {
    refs[key] = h("strong", { "data-testid": key }, "–");
    return h("li", { class: `fill-${key}-item` },
      h("span", { class: `swatch-dot dot-${key}`, "aria-hidden": "true" }), refs[key], ` ${label}`);
  };
  refs.capacity = h("span", { "data-testid": "capacity" }, "–");
  refs.percent = h("strong", { class: "fill-percent", "data-testid": "fill-percent" }, "–");
  const gauge = h("section", { class: "fill", "aria-label": "Fill" },
    h("div", { class: "fill-head" }, h("span", {}, refs.percent, " full"),
      h("span", { class: "muted small" }, "capacity ", refs.capacity)),
    refs.meter,
    h("ul", { class: "fill-legend", "aria-label": "Seats" },
      legendItem("sold", "sold"), legendItem("held", "held"), legendItem("free", "free")));

  // door figures
  let door = null;
  if (seesDoors()) {
    const entered = figure("Entered", "entered");
    const inside = figure("Inside", "inside");
    const refused = figure("Refused", "refused");
    const rate = figure("Entries", "rate", "/min");
    refs.entered = entered.value;
    refs.inside = inside.value;
    refs.refused = refused.value;
    refs.rate = rate.value;
    refs.doorNote = h("p", { class: "muted small door-note", "data-testid": "door-note" },
      "Waiting for the door figures…");
    refs.doorsBody = h("tbody", {});
    refs.doorsTable = h("table", { class: "doors", "data-testid": "doors", hidden: true },
      h("caption", { class: "sr-only" }, "Per door"),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "Door"),
        h("th", { scope: "col" }, "In"),
        h("th", { scope: "col" }, "Out"),
        h("th", { scope: "col" }, "Refused"),
        h("th", { scope: "col" }, h("abbr", { title: "entries per minute" }, "/min")))),
      refs.doorsBody);
    refs.reasons = h("ul", { class: "reasons", "data-testid": "refusals" });
    refs.reasonsBox = h("div", { class: "reasons-box", hidden: true },
      h("h3", { class: "mini-title" }, "Refusals"), refs.reasons);
    door = h("section", { class: "door", "aria-label": "At the doors" },
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
      "Release unscanned reservations…"))
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
      session.seated ? "" : " · standing")),
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
    `${fmt(sold)} sold, ${fmt(held)} held, ${fmt(free)} free of ${fmt(capacity)}`);
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
      refs.doorNote.textContent = "Your account may not see the door figures.";
    } else if (m.code === ERROR.UNAVAILABLE) {
      refs.doorNote.textContent = "Door figures unavailable for a moment; retrying…";
    } else {
      refs.doorNote.textContent = `Door figures unavailable (${m.code}).`;
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
  refs.doorNote.textContent = "No scans yet.";

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
      $("grid").replaceChildren(h("p", { class: "banner" }, "The sessions could not be loaded. ",
        h("button", { type: "button", class: "btn btn-small", onclick: () => loadSessions() },
          "Retry")));
    } else {
      message(`The session list could not be refreshed: ${err.message}`);
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
      "No session today or in the coming days."));
  } else {
    const current = [...grid.children];
    const same = current.length === nodes.length && current.every((n, i) => n === nodes[i]);
    if (!same) grid.replaceChildren(...nodes);
  }
  $("dash-summary").textContent = sessions.length > shown.length
    ? `The next ${shown.length} of ${sessions.length} sessions, by start time.`
    : `${sessions.length} session${sessions.length === 1 ? "" : "s"}, by start time.`;
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
  button.textContent = n ? `Release ${n} reservation${n === 1 ? "" : "s"}` : "Release";
}

async function previewRelease() {
  const card = release.card;
  const mins = minutes();
  const box = $("release-preview");
  release.count = null;
  renderConfirm();
  if (!card) return;
  if (mins === null) {
    box.replaceChildren(h("p", { class: "muted" }, "Enter a number of minutes."));
    return;
  }
  const seq = ++release.seq;
  box.replaceChildren(h("p", { class: "muted" }, "Looking for unscanned reservations…"));
  let data;
  try {
    data = await api("GET",
      `/api/sessions/${card.id}/unscanned-reservations?older_than_minutes=${mins}`);
  } catch (err) {
    if (seq !== release.seq) return;
    box.replaceChildren(h("p", { class: "banner banner-error" },
      `The preview failed: ${err.message}`));
    return;
  }
  if (seq !== release.seq) return;
  release.count = data.count;
  box.dataset.count = String(data.count);
  if (!data.count) {
    box.replaceChildren(h("p", { "data-testid": "release-count", "data-count": "0" },
      "Nothing to release: every reservation booked more than ",
      `${mins} minutes ago was scanned.`));
  } else {
    const seats = data.seats || [];
    box.replaceChildren(
      h("p", { "data-testid": "release-count", "data-count": data.count },
        h("strong", {}, fmt(data.count)),
        ` unscanned reservation${data.count === 1 ? "" : "s"} booked more than ${mins} minutes ago`,
        data.places ? ` (${fmt(data.places)} general-admission place${data.places === 1 ? "" : "s"})` : "",
        "."),
      seats.length
        ? h("div", {},
          h("p", { class: "small muted", id: "release-seats-label" }, "Seats to put back on sale:"),
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
    message(`Released ${fmt(data.count)} reservation${data.count === 1 ? "" : "s"} of `
      + `${card.session.event_name}${seats ? ` (seats ${seats})` : ""}.`, "success");
  } catch (err) {
    if (err.code === "count_changed") {
      const now = err.details.count;
      problem.dataset.code = "count_changed";
      problem.replaceChildren(
        h("strong", {}, "Nothing was released. "),
        `The unscanned reservations changed since your preview: there are now ${fmt(now)}, `
          + `not ${fmt(expected)} (someone was scanned or booked meanwhile). `
          + "Check the new preview below and confirm again.");
      problem.hidden = false;
      release.busy = false;
      await previewRelease();
      return;
    }
    problem.dataset.code = err.code || "error";
    problem.textContent = `The release failed: ${err.message}`;
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
  start();
}

state.user = await requireSession(["stats.read", "door.manage"]);
if (state.user) init();
