// Back office: venues and rooms. Create them, import a room's seat plan from a file (our
// JSON or pretix's), preview it on the seat map before saving it, export the current plan.

import { $, attempt } from "./admin-common.js";
import { h } from "./dom.js";
import { i18n, t } from "./i18n.js";
import { everything } from "./paging.js";
import { SeatMap } from "./seatmap.js";
import { api, notify, requireSession } from "./session.js";

const state = { venues: [], room: null, document: null, preview: null };

async function load() {
  const { venues } = await everything((p) => api("GET", p), "/api/venues", "venues");
  state.venues = venues;
  render();
}

function roomItem(room) {
  return h("li", { class: "room-item", "data-testid": "room", "data-room-id": room.id },
    h("strong", {}, room.name), " · ", t("rooms.plan"), " ",
    room.seat_plan_id
      ? h("a", { href: `/api/seat-plans/${room.seat_plan_id}`, download: `plan-${room.seat_plan_id}.json`,
        "aria-label": t("rooms.export", { room: room.name }) },
      t("rooms.plan_id", { id: room.seat_plan_id }))
      : h("span", { class: "muted" }, t("rooms.no_plan")),
    " ",
    h("button", { type: "button", class: "btn btn-small", "data-testid": "import-plan",
      onclick: () => openImport(room) }, t("rooms.import")));
}

function render() {
  $("venues").replaceChildren(...(state.venues.length ? state.venues.map((venue) => {
    const input = h("input", { required: true, maxlength: 1000, "data-testid": "room-name" });
    const form = h("form", { class: "stack", onsubmit: (e) => createRoom(e, venue, input) },
      h("label", {}, h("span", {}, t("rooms.new_room", { venue: venue.name })), input),
      h("button", { type: "submit", class: "btn" }, t("common.create")));
    return h("section", { class: "card", "data-testid": "venue", "aria-label": venue.name },
      h("h2", {}, venue.name), h("ul", { class: "plain-list" }, venue.rooms.map(roomItem)), form);
  }) : [h("p", { class: "muted" }, t("rooms.none"))]));
}

async function createVenue(event) {
  event.preventDefault();
  await attempt(async () => {
    await api("POST", "/api/venues", { name: $("venue-name").value });
    $("venue-name").value = "";
    await load();
  });
}

async function createRoom(event, venue, input) {
  event.preventDefault();
  await attempt(async () => {
    await api("POST", `/api/venues/${venue.id}/rooms`, { name: input.value });
    await load();
  });
}

function openImport(room) {
  state.room = room;
  state.document = null;
  $("import").hidden = false;
  state.preview = null;
  $("plan-save").disabled = true;
  renderImport();
  $("preview-map").replaceChildren();
  $("plan-file").focus();
}

/** The import box's words: which room, and what the preview read (if any). */
function renderImport() {
  $("import-title").textContent = `${t("rooms.import")} · ${state.room.name}`;
  $("preview-title").textContent = state.preview ? t("rooms.preview_title", state.preview) : "";
}

function formatQuery() {
  const format = $("plan-format").value;
  return format ? `?format=${format}` : "";
}

async function preview(event) {
  event.preventDefault();
  await attempt(async () => {
    const file = $("plan-file").files[0];
    let body;
    try {
      body = JSON.parse(await file.text());
    } catch {
      throw new Error(t("rooms.bad_file"));
    }
    state.document = null;
    state.preview = null;
    $("plan-save").disabled = true;
    renderImport();
    const plan = await api("POST", `/api/seat-plans/preview${formatQuery()}`, body);
    const map = new SeatMap($("preview-map"), { label: plan.name });
    map.load(plan);
    state.preview = { name: plan.name, n: plan.seat_count, format: plan.format };
    renderImport();
    state.document = plan.document; // saved in our format: what was previewed is what is stored
    $("plan-save").disabled = false;
  });
}

async function save() {
  if (!state.document || !state.room) return;
  await attempt(async () => {
    const result = await api("PUT", `/api/rooms/${state.room.id}/seat-plan`, state.document);
    notify(t("rooms.imported", { n: result.seat_count, moved: result.moved_sessions.length }),
      "success");
    $("import").hidden = true;
    await load();
  });
}

function rerender() {
  document.title = `Guichet · ${t("rooms.title")}`;
  render();
  if (state.room) renderImport();
}

if (await requireSession(["catalog.manage"])) {
  document.title = `Guichet · ${t("rooms.title")}`;
  $("venue-form").addEventListener("submit", createVenue);
  $("import-form").addEventListener("submit", preview);
  $("plan-save").addEventListener("click", save);
  i18n.addEventListener("languagechange", rerender);
  attempt(load);
}
