// The door steward's scanner: sign-in (or device enrolment), session and door, then scans
// from a keyboard-wedge scanner or the camera. Online scans go over the WebSocket (HTTP as
// fallback); when the network is gone the page checks codes itself (scanner-verify.js),
// queues them and uploads the queue on reconnect. No manual switch.

import { DoorLink } from "./scanner-link.js";
import { store, newNonce } from "./scanner-store.js";
import { importKeys, decideOffline } from "./scanner-verify.js";
import { cameraSupport, CameraScanner } from "./scanner-camera.js";
import { textFor } from "./scanner-text.js";
import { everything } from "./paging.js";
import { can, goToSignIn, me, sessionHeaders, signOut as endSession } from "./session.js";
import { t as say, useLanguage } from "./i18n.js";
import "./scanner-page-text.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 5000; // counters when the door channel is not live
const BUNDLE_REFRESH_MS = 30000; // keys, revocations, entries when the channel is not live
const HTTP_TIMEOUT_MS = 4000;
const RESULT_MS = 4000;
const UPLOAD_CHUNK = 1000;
const HISTORY = 8;

const state = {
  sessionId: null,
  door: "main",
  keys: new Map(),
  revoked: new Set(),
  entered: new Map(), // ticket id (or "pass:<id>") -> {door, at, inside}
  passes: null, // pass id -> {holder_name, allowed, ticket_id, seed}, from the keys bundle
  bundleAt: 0,
  link: null,
  sub: null,
  channelLive: false,
  httpOk: true,
  timer: null,
  resultTimer: null,
  scanning: Promise.resolve(),
  uploading: false,
  camera: null,
};
let t = textFor(store.config.language);

// -- HTTP --------------------------------------------------------------------------------------

class NetworkError extends Error {}
class ApiError extends Error {
  constructor(status, error) {
    super(error.message || error.code);
    this.status = status;
    this.code = error.code;
  }
}

async function api(method, path, body, { timeout = HTTP_TIMEOUT_MS } = {}) {
  if (!navigator.onLine) throw new NetworkError("offline");
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const token = store.auth?.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  else if (store.auth?.kind === "session") Object.assign(headers, await sessionHeaders(method));
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeout);
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      signal: abort.signal,
    });
  } catch (err) {
    throw new NetworkError(String(err));
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (response.status >= 500) throw new NetworkError(`HTTP ${response.status}`);
  if (!response.ok) throw new ApiError(response.status, data?.error || { code: "http_error" });
  return data;
}

/** Runs an API call for the connection state: a network failure means "offline". */
async function reach(call) {
  try {
    const data = await call();
    setHttpOk(true);
    return data;
  } catch (err) {
    if (err instanceof NetworkError) {
      setHttpOk(false);
      return null;
    }
    if (err instanceof ApiError && err.status === 401) {
      signOut("Your sign-in has expired: sign in again.");
      return null;
    }
    throw err;
  }
}

// -- messages and views ------------------------------------------------------------------------

function message(text, kind = "error") {
  const box = document.createElement("div");
  box.className = `msg msg-${kind}`;
  box.dataset.testid = "message";
  box.textContent = text;
  $("messages").append(box);
  setTimeout(() => box.remove(), 6000);
}

function showView(name) {
  for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== `view-${name}`;
  $("sign-out").hidden = name === "signin";
}

// -- connection state --------------------------------------------------------------------------

function isOnline() {
  return navigator.onLine && (state.link?.isOpen || state.httpOk);
}

function setHttpOk(ok) {
  state.httpOk = ok;
  renderConnection();
}

function renderConnection() {
  const el = $("connection");
  const online = isOnline();
  const was = el.dataset.status;
  el.dataset.status = online ? "open" : "closed";
  el.textContent = say(online ? "scan.online" : "scan.offline");
  if (online && was === "closed") uploadQueue();
}

function renderPending() {
  const count = store.queue.length;
  const el = $("pending");
  el.dataset.count = String(count);
  el.textContent = count ? say("scan.toUpload", { count }) : say("scan.uploaded");
  el.classList.toggle("pill-warn", count > 0);
}

// -- sign-in and enrolment ---------------------------------------------------------------------

/** A staff member signed in on /signin.html: scan with the session cookie (no token). */
async function useStaffSession() {
  let user;
  try {
    user = await me({ refresh: true });
  } catch {
    return Boolean(store.auth); // offline: keep scanning with what this device had
  }
  if (!user?.id) {
    store.auth = null;
    return false;
  }
  if (!can(user, "door.scan")) {
    message(say("scan.mayNotScan"));
    store.auth = null;
    return false;
  }
  store.auth = { token: null, username: user.username, kind: "session" };
  if (!store.config.deviceName && user.language) {
    store.config = { ...store.config, language: user.language }; // the steward's own language
  }
  return true;
}

async function enrol(code) {
  history.replaceState(null, "", location.pathname + location.search);
  try {
    const data = await api("POST", "/api/devices/enrol", { code });
    const { device } = data;
    store.auth = { token: data.token, username: `device:${device.name}`, kind: "device" };
    store.config = {
      deviceName: device.name,
      roomId: device.room_id,
      language: device.language,
      mode: device.mode,
    };
    t = textFor(device.language);
    message(`This scanner is enrolled as “${device.name}”.`, "success");
  } catch (err) {
    const used = err instanceof ApiError && err.status === 409;
    message(used ? "This enrolment code was already used." : `Enrolment failed: ${err.message}`);
  }
}

function signOut(reason, { byUser = false } = {}) {
  stopScanning();
  const kind = store.auth?.kind;
  store.auth = null;
  const { deviceName, language } = store.config;
  store.config = { deviceName, language }; // an enrolled device keeps its name
  const pending = store.queue.length;
  if (reason) message(reason);
  if (pending) message(`${pending} scans wait for upload; they go after the next sign-in.`, "info");
  if (kind === "session") {
    if (byUser) endSession();
    else goToSignIn();
    return;
  }
  showView("signin");
}

// -- setup -------------------------------------------------------------------------------------

function describeSession(s) {
  const start = new Date(s.starts_at);
  const when = start.toLocaleString(t.lang === "fr" ? "fr-FR" : "en-GB", {
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
  });
  return { title: s.event_name, meta: `${when} · ${s.room_name}` };
}

async function showSetup() {
  showView("setup");
  const config = store.config;
  const auth = store.auth;
  const mode = config.mode === "exit" ? say("scan.exitMode") : "";
  $("device-info").textContent = say("scan.signedInAs", { name: auth.username }) + mode;
  $("door-input").value = config.door || "main";
  $("mode-select").value = config.mode === "exit" ? "exit" : "entry";
  const select = $("session-select");
  select.replaceChildren(new Option(say("scan.loading"), ""));
  let data;
  try {
    data = await reach(() => everything((path) => api("GET", path), "/api/sessions", "sessions"));
  } catch (err) {
    message(err.message);
  }
  if (!data) {
    select.replaceChildren(new Option(say("scan.sessionsUnavailable"), ""));
    return;
  }
  const sessions = data.sessions.filter((s) => !config.roomId || s.room_id === config.roomId);
  select.replaceChildren(
    ...sessions.map((s) => {
      const { title, meta } = describeSession(s);
      const option = new Option(`${title} — ${meta}`, String(s.id));
      option.dataset.title = title;
      option.dataset.meta = meta;
      return option;
    }),
  );
  if (!sessions.length) select.replaceChildren(new Option(say("scan.noSession"), ""));
  if (config.sessionId) select.value = String(config.sessionId);
  select.focus();
}

function submitSetup(event) {
  event.preventDefault();
  const select = $("session-select");
  const door = $("door-input");
  if (!select.value || !door.checkValidity()) {
    door.reportValidity();
    return;
  }
  const option = select.selectedOptions[0];
  store.config = {
    ...store.config,
    sessionId: Number(select.value),
    sessionTitle: option.dataset.title,
    sessionMeta: option.dataset.meta,
    door: door.value,
    mode: $("mode-select").value,
  };
  startScanning();
}

// -- the offline bundle: keys, revocations, entries ---------------------------------------------

function saveBundle() {
  const old = store.bundle(state.sessionId) || {};
  store.saveBundle(state.sessionId, {
    ...old,
    revoked: [...state.revoked],
    entered: [...state.entered].map(([ticket_id, e]) => ({ ticket_id, ...e })),
  });
}

async function applyBundle(bundle) {
  try {
    state.keys = await importKeys(bundle.public_keys);
  } catch (err) {
    message(`This browser cannot verify tickets offline (${err.message}).`);
  }
  for (const ref of bundle.revoked || []) state.revoked.add(ref);
  state.reentryAllowed = Boolean(bundle.reentry_allowed);
  if (bundle.passes) state.passes = new Map(bundle.passes.map((p) => [p.id, p]));
  for (const e of bundle.entered || []) {
    const inside = e.inside !== false;
    state.entered.set(e.ticket_id, { door: e.door, at: e.at, inside });
  }
  for (const [id, e] of Object.entries(store.localEntered(state.sessionId))) {
    const key = /^\d+$/.test(id) ? Number(id) : id; // ticket ids, or "pass:<id>"
    if (!state.entered.has(key)) state.entered.set(key, e);
  }
}

async function refreshBundle() {
  const sid = state.sessionId;
  const bundle = await reach(() => api("GET", `/api/door/keys?session_id=${sid}`));
  if (!bundle || sid !== state.sessionId) return;
  state.bundleAt = Date.now();
  store.saveBundle(sid, bundle);
  await applyBundle(bundle);
  saveBundle();
}

function remember(ticketId, entry) {
  if (ticketId === null || ticketId === undefined) return;
  const known = state.entered.get(ticketId);
  if (known && known.inside !== false) return; // the first entry's time and door stay
  state.entered.set(ticketId, { ...entry, inside: true });
  saveBundle();
}

function rememberExit(ticketId) {
  const known = state.entered.get(ticketId);
  if (!known) return;
  state.entered.set(ticketId, { ...known, inside: false });
  saveBundle();
}

// -- live counters and the door channel ---------------------------------------------------------

function renderCounters(c) {
  if (!c) return;
  const door = (c.doors || {})[state.door] || {};
  const values = {
    rate: String(door.rate_per_minute ?? 0),
    entered: String(c.entered ?? 0),
    inside: String(c.inside ?? c.entered ?? 0),
  };
  $("door-rate").textContent = values.rate;
  $("count-entered").textContent = values.entered;
  $("count-inside").textContent = values.inside;
  const stats = $("result");
  for (const [name, value] of Object.entries(values)) {
    stats.querySelector(`.stat-${name}`).textContent = value;
  }
}

function onDoorFrame(m) {
  if (m.type === "door") {
    state.channelLive = true;
    renderCounters(m.counters);
    for (const e of m.entries || []) remember(e.ticket_id, { door: e.door, at: e.at });
    for (const e of m.exits || []) rememberExit(e.ticket_id);
  } else if (m.type === "revoked") {
    for (const ref of m.codes || []) state.revoked.add(ref);
    saveBundle();
  } else if (m.type === "error") {
    // unknown_channel (server without the door channel) or forbidden: poll instead
    state.channelLive = false;
  }
}

async function pollCounters() {
  const path = `/api/sessions/${state.sessionId}/entries`;
  renderCounters(await reach(() => api("GET", path)).catch(() => null));
}

async function tick() {
  if (!state.channelLive || !state.link?.isOpen) {
    await pollCounters();
    if (Date.now() - state.bundleAt > BUNDLE_REFRESH_MS) await refreshBundle().catch(() => null);
  }
  if (store.queue.length) uploadQueue();
}

function connect() {
  const link = new DoorLink(store.auth.token); // null token: the session cookie
  link.addEventListener("status", (event) => {
    if (event.detail.status !== "open") state.channelLive = false;
    renderConnection();
  });
  link.addEventListener("auth-error", () => signOut("Your sign-in has expired: sign in again."));
  link.addEventListener("error", (event) => {
    if (["token_revoked", "token_expired"].includes(event.detail.code)) {
      signOut("Your sign-in was withdrawn: sign in again.");
    }
  });
  state.link = link;
  state.sub = link.subscribe(`door:${state.sessionId}`, onDoorFrame);
}

async function startScanning() {
  const config = store.config;
  if (!store.auth) return showView("signin");
  state.sessionId = config.sessionId;
  state.door = config.door || "main";
  state.keys = new Map();
  state.revoked = new Set();
  state.entered = new Map();
  state.passes = null;
  state.channelLive = false;
  showView("scan");
  $("scan-title").textContent = config.sessionTitle || `Session ${config.sessionId}`;
  $("scan-meta").textContent = config.sessionMeta || "";
  $("scan-door").textContent = config.mode === "exit"
    ? say("scan.exitSuffix", { door: state.door }) : state.door;
  $("result").querySelector(".stat-door").textContent = state.door;
  $("history").replaceChildren();
  const cached = store.bundle(state.sessionId);
  if (cached) await applyBundle(cached);
  connect();
  renderPending();
  renderConnection();
  focusInput();
  await refreshBundle().catch((err) => message(err.message));
  state.timer = setInterval(tick, POLL_MS);
  tick();
  $("camera-toggle").hidden = !(await cameraSupport());
}

function stopScanning() {
  clearInterval(state.timer);
  state.sub?.close();
  state.link?.close();
  state.link = state.sub = null;
  state.camera?.stop();
  $("camera").hidden = true;
}

// -- scanning ----------------------------------------------------------------------------------

async function scanOnline(request) {
  if (!navigator.onLine) {
    setHttpOk(false);
    return null;
  }
  const body = { ...request, device: store.deviceName };
  if (state.link?.isOpen) {
    try {
      return await state.link.scan(body);
    } catch (err) {
      if (err.code) throw err; // the server answered with an error: not a network problem
    }
  }
  return reach(() => api("POST", "/api/scan", body));
}

/** Who may pass, offline: the code's own checks, then the local inside/outside lists. */
async function decideLocally(request) {
  if (state.keys.size === 0) return { result: "refused", reason: "no_keys", ticket_id: null };
  const exiting = request.mode === "exit";
  const inside = new Map([...state.entered].filter(([, e]) => e.inside !== false));
  const result = await decideOffline(request.code, state.keys, {
    sessionId: state.sessionId,
    now: Date.parse(request.scanned_at) / 1000,
    revoked: state.revoked,
    passes: state.passes,
    // an exit is checked against who is inside; an entry against who entered (or, when
    // re-entry is allowed, who is inside now)
    entered: exiting ? new Map() : state.reentryAllowed ? inside : state.entered,
  });
  const known = state.entered.get(result.ticket_id);
  if (exiting && result.result === "valid" && !inside.has(result.ticket_id)) {
    return { ...result, result: "refused", reason: "not_inside" };
  }
  if (!exiting && result.reason === "already_entered" && known?.inside === false) {
    return { ...result, reason: "no_reentry" };
  }
  return result;
}

async function scanOffline(request) {
  const result = await decideLocally(request);
  if (result.result === "valid" && request.mode === "exit") {
    rememberExit(result.ticket_id);
  } else if (result.result === "valid") {
    const entry = { door: state.door, at: request.scanned_at };
    remember(result.ticket_id, entry);
    const local = store.localEntered(state.sessionId);
    local[result.ticket_id] = { ...entry, nonce: request.nonce };
    store.saveLocalEntered(state.sessionId, local);
  }
  store.queue = [...store.queue, request];
  renderPending();
  return result;
}

async function scanOne(text) {
  const request = {
    code: text.trim(),
    nonce: newNonce(),
    door: state.door,
    session_id: state.sessionId,
    scanned_at: new Date().toISOString(),
    mode: store.config.mode === "exit" ? "exit" : "entry",
  };
  if (store.config.roomId) request.room_id = store.config.roomId; // an enrolled room filter
  const online = await scanOnline(request);
  if (online) {
    const id = online.ticket?.id;
    if (online.result === "valid" && request.mode === "exit") rememberExit(id);
    else if (online.result === "valid") remember(id, { door: state.door, at: request.scanned_at });
    if (online.reason === "already_entered") {
      remember(id, { door: online.entered_door, at: online.entered_at });
    }
    showResult(online, false);
    if (!state.channelLive) pollCounters(); // no live push: fetch the new numbers now
    return;
  }
  showResult(await scanOffline(request), true);
}

function scan(text) {
  if (!text.trim()) return;
  state.scanning = state.scanning
    .then(() => scanOne(text))
    .catch((err) => message(`Scan failed: ${err.message}`));
}

// -- the result --------------------------------------------------------------------------------

function ticketLine(result) {
  const ticket = result.ticket;
  if (ticket) {
    const place = ticket.seat ? `${t.seat} ${ticket.seat}` : t.noSeat;
    const seat = ticket.row ? `${t.row} ${ticket.row} · ${place}` : place;
    return [seat, ticket.tariff].filter(Boolean).join(" · ");
  }
  return result.ticket_id ? `${t.ticket} #${result.ticket_id}` : "";
}

function holderOf(result) {
  const holder = result.holder || result.ticket?.holder || result.pass?.holder || null;
  if (!holder) return null;
  if (typeof holder === "string") return { name: holder, photo: result.photo_url || null };
  return { name: holder.name, photo: holder.photo_url || holder.photo || null };
}

function showResult(result, offline) {
  const box = $("result");
  const valid = result.result === "valid";
  box.dataset.result = result.result;
  box.dataset.reason = result.reason || "";
  box.dataset.offline = String(offline);
  box.querySelector(".result-mark").textContent = valid ? "✓" : "✕";
  box.querySelector(".result-headline").textContent = valid ? t.valid : t.refused;
  box.querySelector(".result-reason").textContent = t.reason(result);
  box.querySelector(".result-ticket").textContent = ticketLine(result);
  const holder = holderOf(result);
  const photo = box.querySelector(".result-photo");
  const name = box.querySelector(".result-holder");
  name.hidden = !holder;
  name.textContent = holder?.name || "";
  photo.hidden = !holder?.photo;
  if (holder?.photo) {
    photo.src = holder.photo;
    photo.alt = `Photo of ${holder.name}`;
  } else {
    photo.removeAttribute("src");
  }
  box.querySelector(".result-offline").hidden = !offline;
  box.hidden = false;
  navigator.vibrate?.(valid ? 80 : [90, 60, 90]);
  clearTimeout(state.resultTimer);
  state.resultTimer = setTimeout(hideResult, RESULT_MS);
  addHistory(result, offline);
}

function hideResult() {
  clearTimeout(state.resultTimer);
  $("result").hidden = true;
  focusInput();
}

function addHistory(result, offline) {
  const item = document.createElement("li");
  item.dataset.result = result.result;
  item.dataset.testid = "history-item";
  const time = t.timeOf(new Date().toISOString());
  const what = result.result === "valid" ? t.valid : t.reason(result);
  const ticket = ticketLine(result);
  item.textContent = `${time} · ${what}${ticket ? ` · ${ticket}` : ""}${offline ? " · offline" : ""}`;
  const list = $("history");
  list.prepend(item);
  while (list.children.length > HISTORY) list.lastChild.remove();
}

// -- upload of offline scans -------------------------------------------------------------------

/** Uploads scans; returns the nonces the server has (stored or refused as malformed). */
async function uploadChunk(scans) {
  try {
    const body = { device: store.deviceName, scans };
    const data = await api("POST", "/api/scan/batch", body, { timeout: 30000 });
    return new Set(data.results.map((r) => r.nonce));
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 400)) throw err;
    if (scans.length === 1) return new Set([scans[0].nonce]); // malformed: never accepted
    const done = new Set();
    for (const one of scans) for (const n of await uploadChunk([one])) done.add(n);
    return done;
  }
}

async function uploadQueue() {
  if (state.uploading || !navigator.onLine || !store.auth) return;
  state.uploading = true;
  try {
    for (;;) {
      const chunk = store.queue.slice(0, UPLOAD_CHUNK);
      if (!chunk.length) break;
      const done = await reach(() => uploadChunk(chunk));
      if (!done) break;
      store.queue = store.queue.filter((s) => !done.has(s.nonce));
      for (const sid of new Set(chunk.map((s) => s.session_id))) {
        const local = store.localEntered(sid);
        for (const [id, e] of Object.entries(local)) if (done.has(e.nonce)) delete local[id];
        store.saveLocalEntered(sid, local);
      }
      renderPending();
    }
  } catch (err) {
    message(`Upload failed: ${err.message}`);
  } finally {
    state.uploading = false;
    renderPending();
  }
}

// -- input focus and camera ----------------------------------------------------------------------

function focusInput() {
  const input = $("code-input");
  if (!$("view-scan").hidden) input.focus({ preventScroll: true });
}

async function toggleCamera() {
  const button = $("camera-toggle");
  const video = $("camera");
  if (state.camera?.running) {
    state.camera.stop();
    video.hidden = true;
    button.setAttribute("aria-pressed", "false");
    button.textContent = say("scan.useCamera");
    focusInput();
    return;
  }
  state.camera = state.camera || new CameraScanner(video, scan);
  try {
    video.hidden = false;
    await state.camera.start();
    button.setAttribute("aria-pressed", "true");
    button.textContent = say("scan.stopCamera");
  } catch (err) {
    video.hidden = true;
    message(`Camera unavailable: ${err.message}`);
  }
  focusInput();
}

// -- start -------------------------------------------------------------------------------------

function wire() {
  $("setup-form").addEventListener("submit", submitSetup);
  $("scan-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("code-input");
    scan(input.value);
    input.value = "";
  });
  $("code-input").addEventListener("blur", (event) => {
    // keep the wedge scanner's keystrokes coming here unless another control took focus
    if (!event.relatedTarget) setTimeout(focusInput, 0);
  });
  $("result").addEventListener("click", hideResult);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") hideResult();
  });
  $("camera-toggle").addEventListener("click", toggleCamera);
  $("change-setup").addEventListener("click", () => {
    stopScanning();
    showSetup();
  });
  $("sign-out").addEventListener("click", () => signOut(undefined, { byUser: true }));
  window.addEventListener("online", () => {
    renderConnection();
    if (state.timer) tick(); // probe the server now rather than at the next poll
  });
  window.addEventListener("offline", renderConnection);
  window.addEventListener("storage", renderPending);
}

async function boot() {
  wire();
  renderPending();
  renderConnection();
  const code = new URLSearchParams(location.hash.slice(1)).get("enrol");
  if (code) await enrol(code);
  if (!store.auth || store.auth.kind === "session") await useStaffSession();
  t = textFor(store.config.language);
  useLanguage(t.lang, { remember: false });
  renderPending();
  renderConnection();
  if (!store.auth) showView("signin");
  else if (store.config.sessionId) await startScanning();
  else await showSetup();
}

boot();
