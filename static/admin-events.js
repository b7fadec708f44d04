// Back office: sessions. List them (and apply a tariff grid to the ticked ones), create one,
// edit one in four tabs: General, Contingents (and blocked seats, picked on the live seat
// map), Tariffs (price, tax rate, seat categories, eligibility note, on sale or not) and
// Tickets. Routes: #/ (list), #/new, #/session/<id>/<tab>.

import {
  $, attempt, isoFromLocal, localFromIso, money, when,
} from "./admin-common.js";
import { h } from "./dom.js";
import { i18n, locale, t } from "./i18n.js";
import { everything } from "./paging.js";
import { PROTOCOL } from "./protocol.js";
import { DoorLink } from "./scanner-link.js";
import { SeatMap } from "./seatmap.js";
import {
  addConnectionIndicator, api, errorText, notify, requireSession, watchSession,
} from "./session.js";

const { SERVER, CHANNEL } = PROTOCOL;
const TABS = ["general", "contingents", "tariffs", "tickets"];
const TICKETS_PAGE = 50;

const state = {
  sessions: [],
  ticked: new Set(),
  current: null, // {detail, seatMap, tab, ticketsOffset, nextOffset, editing}
  live: null, // the seat map's socket, signed in with the session cookie (opened on demand)
  sub: null,
  blockMap: null,
};

function show(name) {
  for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== `view-${name}`;
}

// -- list and tariff grid -----------------------------------------------------------------------

async function showList() {
  show("list");
  const { sessions } = await everything((p) => api("GET", p), "/api/sessions?all=1", "sessions");
  state.sessions = sessions;
  renderList();
  if (!$("grid-rows").children.length) addGridRow();
}

function renderList() {
  const rows = state.sessions.map((s) => h("tr", { "data-testid": "session-row", "data-session-id": s.id },
    h("td", {}, h("input", {
      type: "checkbox", checked: state.ticked.has(s.id), "data-testid": "grid-tick",
      "aria-label": t("events.select", { name: `${s.event_name}, ${when(s.starts_at)}` }),
      onchange: (e) => {
        if (e.target.checked) state.ticked.add(s.id);
        else state.ticked.delete(s.id);
        renderTicked();
      },
    })),
    h("td", {}, h("a", { href: `#/session/${s.id}/general` }, s.event_name)),
    h("td", {}, when(s.starts_at)),
    h("td", {}, `${s.venue_name} · ${s.room_name}`),
    h("td", {}, s.seated ? t("events.seated") : t("events.ga")),
    h("td", {}, s.sales_open ? t("events.open") : t("events.closed"))));
  $("session-rows").replaceChildren(...(rows.length ? rows
    : [h("tr", {}, h("td", { colspan: 6, class: "muted" }, t("events.empty")))]));
  renderTicked();
}

function renderTicked() {
  $("grid-selected").textContent = t("grid.selected", { n: state.ticked.size });
}

function addGridRow() {
  const n = $("grid-rows").children.length + 1;
  const field = (key, attrs) => h("label", {}, h("span", { "data-i18n": key }, t(key)), h("input", attrs));
  const row = h("fieldset", { class: "grid-row", "data-testid": "grid-row" },
    h("legend", { "data-n": n }, t("grid.row", { n })),
    field("tariff.name", { name: "name", required: true, maxlength: 1000 }),
    field("tariff.price", { name: "price", required: true, inputmode: "decimal", pattern: "[0-9]+([.,][0-9]{1,2})?" }),
    field("tariff.currency", { name: "currency", value: "EUR", maxlength: 3, pattern: "[A-Z]{3}" }),
    field("tariff.tax", { name: "tax", inputmode: "decimal", value: "0" }),
    field("tariff.categories", { name: "categories", placeholder: "Premium, Standard" }),
    field("tariff.note", { name: "note", maxlength: 500 }),
    h("button", { type: "button", class: "btn btn-small", onclick: () => row.remove(),
      "data-i18n": "grid.remove_row" }, t("grid.remove_row")));
  $("grid-rows").append(row);
}

function cents(text) {
  const value = Number(String(text).trim().replace(",", "."));
  if (!Number.isFinite(value) || value < 0) {
    throw new Error(t("tariff.bad", { field: t("tariff.price"), value: text }));
  }
  return Math.round(value * 100);
}

function basisPoints(text) {
  const value = Number(String(text || "0").trim().replace(",", "."));
  if (!Number.isFinite(value) || value < 0 || value > 100) {
    throw new Error(t("tariff.bad", { field: t("tariff.tax"), value: text }));
  }
  return Math.round(value * 100);
}

async function applyGrid(event) {
  event.preventDefault();
  if (!state.ticked.size) {
    notify(t("grid.nothing"));
    return;
  }
  await attempt(async () => {
    const tariffs = [...$("grid-rows").querySelectorAll(".grid-row")].map((row) => {
      const value = (name) => row.querySelector(`[name="${name}"]`).value;
      return {
        name: value("name"),
        price_cents: cents(value("price")),
        currency: value("currency") || "EUR",
        tax_rate_bp: basisPoints(value("tax")),
        categories: value("categories").split(",").map((c) => c.trim()).filter(Boolean),
        note: value("note"),
      };
    });
    const created = await api("POST", "/api/tariff-grid", { session_ids: [...state.ticked], tariffs });
    notify(t("grid.done", { n: created.tariffs.length }), "success");
  });
}

// -- new session ----------------------------------------------------------------------------

async function showNew() {
  show("new");
  const { venues } = await everything((p) => api("GET", p), "/api/venues", "venues");
  $("new-room").replaceChildren(...venues.flatMap((v) => v.rooms.map((r) => h("option",
    { value: r.id, "data-has-plan": r.seat_plan_id ? "1" : "0" }, `${v.name} · ${r.name}`))));
  if (!$("new-starts").value) {
    const start = new Date();
    start.setDate(start.getDate() + 1);
    start.setHours(20, 0, 0, 0);
    $("new-starts").value = localFromIso(start.toISOString());
    $("new-ends").value = localFromIso(new Date(start.getTime() + 2 * 3600e3).toISOString());
  }
  syncSeated();
}

function syncSeated() {
  const seated = $("new-seated").checked;
  $("new-capacity-label").hidden = seated;
  $("new-contingents-label").hidden = seated;
}

function contingentLines(text) {
  return text.split("\n").map((line) => line.trim()).filter(Boolean).map((line) => {
    const [name, places] = line.split("=").map((part) => part.trim());
    return { name, capacity: Number(places), seat_ids: [] };
  });
}

async function createSession(event) {
  event.preventDefault();
  await attempt(async () => {
    const seated = $("new-seated").checked;
    const body = {
      room_id: Number($("new-room").value),
      event_name: $("new-name").value,
      starts_at: isoFromLocal($("new-starts").value),
      ends_at: isoFromLocal($("new-ends").value),
      seated,
      sales_open: $("new-sales-open").checked,
      sell_online_after_start: $("new-online-after-start").checked,
    };
    if (!seated) {
      if ($("new-capacity").value) body.capacity = Number($("new-capacity").value);
      body.contingents = contingentLines($("new-contingents").value);
    }
    const detail = await api("POST", "/api/sessions", body);
    notify(t("session.created"), "success");
    $("new-form").reset();
    location.hash = `#/session/${detail.id}/tariffs`;
  });
}

// -- one session ------------------------------------------------------------------------------

async function showSession(id, tab) {
  if (state.current?.detail.id !== id) {
    closeLive();
    const detail = await api("GET", `/api/sessions/${id}`);
    const seatMap = detail.seated ? await api("GET", `/api/sessions/${id}/seat-map`) : null;
    state.current = { detail, seatMap, tab, ticketsOffset: 0, nextOffset: null, editing: null };
    renderSession();
  }
  show("session");
  selectTab(TABS.includes(tab) ? tab : "general");
}

async function reloadDetail() {
  state.current.detail = await api("GET", `/api/sessions/${state.current.detail.id}`);
}

function renderSession() {
  const { detail } = state.current;
  document.title = `Guichet · ${detail.event_name}`;
  $("session-title").textContent = detail.event_name;
  $("session-meta").textContent = [
    when(detail.starts_at), `${detail.venue_name} · ${detail.room_name}`,
    detail.seated ? t("events.seated") : `${t("events.ga")} (${detail.capacity})`,
    detail.sales_open ? t("events.open") : t("events.closed"),
  ].join(" · ");
  $("edit-name").value = detail.event_name;
  $("edit-starts").value = localFromIso(detail.starts_at);
  $("edit-ends").value = localFromIso(detail.ends_at);
  $("edit-capacity-label").hidden = detail.seated;
  $("edit-capacity").value = detail.capacity;
  $("edit-sales-open").checked = detail.sales_open;
  $("edit-online-after-start").checked = detail.sell_online_after_start;
  renderContingents();
  renderTariffs();
}

function selectTab(tab) {
  state.current.tab = tab;
  for (const name of TABS) {
    const button = $(`tab-${name}`);
    const selected = name === tab;
    button.setAttribute("aria-selected", String(selected));
    button.tabIndex = selected ? 0 : -1;
    $(`panel-${name}`).hidden = !selected;
  }
  const wanted = `#/session/${state.current.detail.id}/${tab}`;
  if (location.hash !== wanted) history.replaceState(null, "", wanted);
  if (tab === "contingents") openBlockMap();
  if (tab === "tickets") loadTickets(state.current.ticketsOffset);
}

function onTabKey(event) {
  const i = TABS.indexOf(event.target.dataset.tab);
  if (i < 0) return;
  const moves = { ArrowRight: 1, ArrowLeft: -1, Home: -i, End: TABS.length - 1 - i };
  if (!(event.key in moves)) return;
  event.preventDefault();
  const next = TABS[(i + moves[event.key] + TABS.length) % TABS.length];
  selectTab(next);
  $(`tab-${next}`).focus();
}

async function saveGeneral(event) {
  event.preventDefault();
  const { detail } = state.current;
  await attempt(async () => {
    const body = {
      event_name: $("edit-name").value,
      starts_at: isoFromLocal($("edit-starts").value),
      ends_at: isoFromLocal($("edit-ends").value),
      sales_open: $("edit-sales-open").checked,
      sell_online_after_start: $("edit-online-after-start").checked,
    };
    if (!detail.seated && Number($("edit-capacity").value) !== detail.capacity) {
      body.capacity = Number($("edit-capacity").value);
    }
    await api("PATCH", `/api/sessions/${detail.id}`, body);
    await reloadDetail();
    renderSession();
    notify(t("common.saved"), "success");
  });
}

// -- contingents and blocked seats ----------------------------------------------------------

function renderContingents() {
  const { detail } = state.current;
  $("contingent-list").replaceChildren(...(detail.contingents.length
    ? detail.contingents.map((c) => h("li", {}, h("strong", {}, c.name), " · ",
      t("contingents.places", { n: c.capacity })))
    : [h("li", { class: "muted" }, t("contingents.none"))]));
  fillContingentForm();
}

function fillContingentForm() {
  const { detail } = state.current;
  $("contingent-help").textContent = t(detail.seated ? "contingents.helpSeated" : "contingents.helpGa");
  $("contingent-lines").value = detail.contingents
    .map((c) => `${c.name} = ${detail.seated ? c.seat_ids.join(" ") : c.capacity}`)
    .join("\n");
}

// "name = places" (general admission) or "name = seat-id seat-id …" (seated), one a line.
function parseContingents(text, seated) {
  return text.split("\n").map((line) => line.trim()).filter(Boolean).map((line) => {
    const at = line.indexOf("=");
    const name = (at < 0 ? line : line.slice(0, at)).trim();
    const rest = at < 0 ? "" : line.slice(at + 1).trim();
    if (seated) return { name, capacity: 0, seat_ids: rest.split(/\s+/).filter(Boolean) };
    return { name, capacity: Number(rest), seat_ids: [] };
  });
}

async function saveContingents(event) {
  event.preventDefault();
  await attempt(async () => {
    const { detail } = state.current;
    const contingents = parseContingents($("contingent-lines").value, detail.seated);
    await api("PUT", `/api/sessions/${detail.id}/contingents`, { contingents });
    await reloadDetail();
    renderContingents();
    notify(t("common.saved"), "success");
  });
}

function closeLive() {
  state.sub?.close();
  state.sub = null;
  state.blockMap = null;
  $("block-map").replaceChildren();
}

function openBlockMap() {
  const { detail, seatMap } = state.current;
  $("blocked-help").hidden = !detail.seated;
  if (!detail.seated) {
    $("block-status").textContent = t("blocked.ga");
    return;
  }
  if (state.blockMap) return;
  state.blockMap = new SeatMap($("block-map"), {
    label: `${t("blocked.title")} · ${detail.room_name}`,
    onSeatClick: (seat, name) => toggleBlocked(seat, name),
  });
  state.blockMap.load(seatMap);
  if (!state.live) {
    // No token: the socket signs in with the staff session cookie; a session ended elsewhere
    // (signed out, disabled, expired) sends the page to the sign-in page.
    state.live = new DoorLink(null);
    watchSession(state.live);
    addConnectionIndicator(state.live);
  }
  state.sub = state.live.subscribe(`${CHANNEL.SEATS}:${detail.id}`, (m) => {
    if (m.type === SERVER.SNAPSHOT) state.blockMap?.applySnapshot(m.states);
    else if (m.type === SERVER.DELTA) state.blockMap?.applyChanges(m.changes);
  });
}

async function toggleBlocked(seat, name) {
  if (name !== "free" && name !== "unavailable") return;
  const blocked = name === "free";
  const { detail } = state.current;
  state.blockMap.setPending(seat.id, true);
  try {
    await api("POST", `/api/sessions/${detail.id}/blocked-seats`, { seats: [seat.id], blocked });
    const label = `${seat.row}-${seat.label}`;
    $("block-status").textContent = t(blocked ? "blocked.done" : "blocked.undone", { seat: label });
  } catch (err) {
    notify(errorText(err));
  } finally {
    state.blockMap?.setPending(seat.id, false);
  }
}

// -- tariffs ------------------------------------------------------------------------------

function categoriesOf() {
  return state.current.seatMap?.categories || [];
}

function renderTariffs() {
  const { detail } = state.current;
  $("tariff-list").replaceChildren(...(detail.tariffs.length ? detail.tariffs.map((tariff) => h("li", {
    class: `tariff-item${tariff.active ? "" : " inactive"}`, "data-testid": "tariff-item",
    "data-tariff-id": tariff.id,
  },
  h("strong", {}, tariff.name), " · ", money(tariff.price_cents, tariff.currency),
  ` · ${t("tariff.tax")} ${(tariff.tax_rate_bp / 100).toLocaleString(locale())}`,
  " · ", tariff.categories.length ? tariff.categories.join(", ") : t("tariff.all_categories"),
  tariff.active ? "" : h("span", { class: "badge" }, ` · ${t("tariff.inactive")}`),
  tariff.note ? h("div", { class: "muted small" }, tariff.note) : "",
  h("button", {
    type: "button", class: "btn btn-small", "aria-label": t("tariffs.edit", { name: tariff.name }),
    onclick: () => editTariff(tariff),
  }, t("common.edit"))))
    : [h("li", { class: "muted" }, t("tariffs.none"))]));
  renderTariffForm(state.current.editing);
}

function editTariff(tariff) {
  state.current.editing = tariff;
  renderTariffForm(tariff);
  $("tariff-form").querySelector("input")?.focus();
}

function renderTariffForm(tariff) {
  const editing = Boolean(tariff);
  $("tariff-form-title").textContent = editing ? t("tariffs.edit", { name: tariff.name }) : t("tariffs.add");
  const input = (key, attrs) => h("label", {}, h("span", {}, t(key)), h("input", attrs));
  const categories = categoriesOf();
  const boxes = categories.map((c) => h("label", { class: "inline" },
    h("input", { type: "checkbox", name: "category", value: c.name,
      checked: Boolean(tariff?.categories.includes(c.name)), "data-testid": "tariff-category" }),
    h("span", { class: "swatch", style: `border-color: ${c.color}`, "aria-hidden": "true" }), ` ${c.name}`));
  $("tariff-form").replaceChildren(
    input("tariff.name", { name: "name", required: true, maxlength: 1000, value: tariff?.name ?? "", "data-testid": "tariff-name" }),
    input("tariff.price", { name: "price", required: true, inputmode: "decimal", "data-testid": "tariff-price",
      pattern: "[0-9]+([.,][0-9]{1,2})?", value: tariff ? (tariff.price_cents / 100).toFixed(2) : "" }),
    input("tariff.currency", { name: "currency", value: tariff?.currency ?? "EUR", maxlength: 3,
      pattern: "[A-Z]{3}", disabled: editing }),
    input("tariff.tax", { name: "tax", inputmode: "decimal", value: tariff ? tariff.tax_rate_bp / 100 : "0",
      "data-testid": "tariff-tax" }),
    categories.length ? h("fieldset", { class: "stack" }, h("legend", {}, t("tariff.categories")), ...boxes) : "",
    input("tariff.note", { name: "note", maxlength: 500, value: tariff?.note ?? "", "data-testid": "tariff-note-input" }),
    editing ? h("label", { class: "inline" }, h("input", { type: "checkbox", name: "active", checked: tariff.active }),
      ` ${t("tariff.active")}`) : "",
    h("div", { class: "row-actions" },
      h("button", { type: "submit", class: "btn btn-primary", "data-testid": "tariff-save" },
        editing ? t("save") : t("common.create")),
      editing ? h("button", { type: "button", class: "btn", onclick: () => editTariff(null) }, t("cancel")) : ""));
}

async function saveTariff(event) {
  event.preventDefault();
  const form = $("tariff-form");
  const value = (name) => form.querySelector(`[name="${name}"]`)?.value ?? "";
  const { detail, editing } = state.current;
  await attempt(async () => {
    const body = {
      name: value("name"),
      price_cents: cents(value("price")),
      tax_rate_bp: basisPoints(value("tax")),
      categories: [...form.querySelectorAll('[name="category"]:checked')].map((box) => box.value),
      note: value("note"),
    };
    if (editing) {
      body.active = form.querySelector('[name="active"]').checked;
      await api("PATCH", `/api/tariffs/${editing.id}`, body);
    } else {
      body.currency = value("currency") || "EUR";
      await api("POST", `/api/sessions/${detail.id}/tariffs`, body);
    }
    state.current.editing = null;
    await reloadDetail();
    renderTariffs();
    notify(t("common.saved"), "success");
  });
}

// -- tickets ------------------------------------------------------------------------------

async function loadTickets(offset) {
  const { detail } = state.current;
  await attempt(async () => {
    const page = await api("GET", `/api/sessions/${detail.id}/tickets?limit=${TICKETS_PAGE}&offset=${offset}`);
    state.current.ticketsOffset = offset;
    state.current.nextOffset = page.next_offset;
    $("ticket-rows").replaceChildren(...(page.tickets.length ? page.tickets.map((tk) => h("tr", { "data-testid": "ticket-row" },
      h("td", {}, tk.id),
      h("td", {}, tk.seat_id ? `${tk.seat_row}-${tk.seat_label}` : t("tickets.ga")),
      h("td", {}, tk.tariff ?? ""),
      h("td", {}, money(tk.price_cents, tk.currency)),
      h("td", {}, tk.status),
      h("td", {}, tk.order_id),
      h("td", {}, tk.kind === "sale" ? tk.channel : `${tk.channel} (${tk.kind})`),
      h("td", {}, tk.buyer_name ?? ""),
      h("td", {}, when(tk.created_at))))
      : [h("tr", {}, h("td", { colspan: 9, class: "muted" }, t("tickets.none")))]));
    $("tickets-prev").disabled = offset === 0;
    $("tickets-next").disabled = page.next_offset === null;
  });
}

// -- routing ----------------------------------------------------------------------------------

async function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  await attempt(async () => {
    if (parts[0] === "new") await showNew();
    else if (parts[0] === "session" && Number(parts[1]) > 0) await showSession(Number(parts[1]), parts[2]);
    else {
      closeLive();
      state.current = null;
      document.title = `Guichet · ${t("events.title")}`;
      await showList();
    }
  });
}

function rerender() {
  if (!state.current) document.title = `Guichet · ${t("events.title")}`;
  for (const legend of $("grid-rows").querySelectorAll("legend")) {
    legend.textContent = t("grid.row", { n: legend.dataset.n });
  }
  if (!$("view-list").hidden) renderList();
  if (state.current && !$("view-session").hidden) {
    renderSession();
    if (state.current.tab === "tickets") loadTickets(state.current.ticketsOffset);
  }
}

function wire() {
  $("grid-add").addEventListener("click", addGridRow);
  $("grid-form").addEventListener("submit", applyGrid);
  $("new-seated").addEventListener("change", syncSeated);
  $("new-form").addEventListener("submit", createSession);
  $("general-form").addEventListener("submit", saveGeneral);
  $("tariff-form").addEventListener("submit", saveTariff);
  $("contingent-form").addEventListener("submit", saveContingents);
  $("tabs").addEventListener("keydown", onTabKey);
  for (const name of TABS) $(`tab-${name}`).addEventListener("click", () => selectTab(name));
  $("tickets-prev").addEventListener("click", () => loadTickets(Math.max(0, state.current.ticketsOffset - TICKETS_PAGE)));
  $("tickets-next").addEventListener("click", () => loadTickets(state.current.nextOffset));
  window.addEventListener("hashchange", route);
  i18n.addEventListener("languagechange", rerender);
}

if (await requireSession(["catalog.manage"])) {
  wire();
  route();
}
