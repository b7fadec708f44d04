// What the back-office catalogue pages (admin-events, admin-rooms) share: the French and
// English strings, a fetch wrapper, DOM helpers and the message area.
//
// Stand-ins until the shared modules land: `api()` is what static/session.js will offer
// (cookie session + the X-CSRF-Token header from GET /api/auth/me, back to /signin.html on
// 401); the STRINGS dictionary is meant to move to static/i18n.js. Until cookie sign-in is
// on main, a bearer token in localStorage["guichet.admin.token"] is sent too (as
// static/devices.js does), and a 401 shows the page's own sign-in form.

export const TOKEN = "guichet.admin.token";
const LANG_KEY = "guichet.lang";

export const STRINGS = {
  en: {
    "lang.switch": "Français",
    "nav.events": "Sessions",
    "nav.rooms": "Venues and rooms",
    "signin.title": "Admin sign-in",
    "signin.username": "Username",
    "signin.password": "Password",
    "signin.submit": "Sign in",
    "signin.required": "Sign in as an organiser first.",
    "common.save": "Save",
    "common.cancel": "Cancel",
    "common.edit": "Edit",
    "common.create": "Create",
    "common.yes": "yes",
    "common.no": "no",
    "common.loading": "Loading…",
    "common.previous": "Previous",
    "common.next": "Next",
    "common.saved": "Saved.",
    "common.none": "None.",
    "events.title": "Sessions",
    "events.new": "New session",
    "events.empty": "No sessions yet.",
    "events.col.event": "Event",
    "events.col.when": "When",
    "events.col.room": "Room",
    "events.col.kind": "Kind",
    "events.col.sales": "Sales",
    "events.seated": "Seated",
    "events.ga": "General admission",
    "events.open": "Open",
    "events.closed": "Closed",
    "events.select": "Select {name} for the tariff grid",
    "form.room": "Room",
    "form.event_name": "Event name",
    "form.starts_at": "Starts",
    "form.ends_at": "Ends",
    "form.seated": "Seated (uses the room's seat plan)",
    "form.capacity": "Capacity (general admission)",
    "form.contingents": "Contingents, one a line: name = places",
    "form.sales_open": "Sales open",
    "session.back": "All sessions",
    "session.created": "Session created.",
    "tab.general": "General",
    "tab.contingents": "Contingents",
    "tab.tariffs": "Tariffs",
    "tab.tickets": "Tickets",
    "contingents.none": "This session has no contingents.",
    "contingents.places": "{n} places",
    "blocked.title": "Blocked seats",
    "blocked.help": "Click a seat (or focus it and press Enter) to block it; click a blocked seat to free it again. Held or sold seats cannot be blocked.",
    "blocked.done": "Seat {seat}: blocked.",
    "blocked.undone": "Seat {seat}: free again.",
    "blocked.ga": "A general-admission session has no seats to block.",
    "tariffs.none": "No tariffs yet.",
    "tariffs.add": "Add a tariff",
    "tariffs.edit": "Edit tariff {name}",
    "tariff.name": "Name",
    "tariff.price": "Price",
    "tariff.currency": "Currency",
    "tariff.tax": "Tax rate (%)",
    "tariff.categories": "Seat categories (none ticked: every category)",
    "tariff.note": "Eligibility note",
    "tariff.active": "On sale",
    "tariff.all_categories": "every category",
    "tariff.inactive": "not on sale",
    "grid.title": "Tariff grid",
    "grid.help": "Tick sessions in the list, describe the tariffs, and apply them to every ticked session at once (all or nothing).",
    "grid.selected": "{n} sessions ticked",
    "grid.add_row": "Add a tariff line",
    "grid.remove_row": "Remove this line",
    "grid.apply": "Apply to the ticked sessions",
    "grid.done": "{n} tariffs created.",
    "grid.nothing": "Tick at least one session.",
    "tickets.none": "No tickets yet.",
    "tickets.col.id": "Ticket",
    "tickets.col.seat": "Seat",
    "tickets.col.tariff": "Tariff",
    "tickets.col.price": "Price",
    "tickets.col.status": "Status",
    "tickets.col.order": "Order",
    "tickets.col.channel": "Channel",
    "tickets.col.buyer": "Buyer",
    "tickets.col.created": "Booked",
    "tickets.ga": "general admission",
    "rooms.title": "Venues and rooms",
    "rooms.new_venue": "New venue",
    "rooms.venue_name": "Venue name",
    "rooms.new_room": "New room in {venue}",
    "rooms.room_name": "Room name",
    "rooms.none": "No venues yet.",
    "rooms.plan": "Seat plan",
    "rooms.no_plan": "no plan yet",
    "rooms.plan_id": "plan #{id}",
    "rooms.export": "Export the plan (JSON)",
    "rooms.import": "Import a plan",
    "rooms.file": "Plan file (JSON: Guichet or pretix)",
    "rooms.format": "Format",
    "rooms.format.auto": "Tell by its content",
    "rooms.format.guichet": "Guichet",
    "rooms.format.pretix": "pretix",
    "rooms.preview": "Preview",
    "rooms.preview_title": "Preview: {name}, {n} seats (read as {format})",
    "rooms.save_plan": "Save as the room's plan",
    "rooms.imported": "Plan imported: {n} seats; {moved} sessions moved onto it.",
    "rooms.bad_file": "This file is not JSON.",
  },
  fr: {
    "lang.switch": "English",
    "nav.events": "Séances",
    "nav.rooms": "Lieux et salles",
    "signin.title": "Connexion organisateur",
    "signin.username": "Identifiant",
    "signin.password": "Mot de passe",
    "signin.submit": "Se connecter",
    "signin.required": "Connectez-vous d'abord en tant qu'organisateur.",
    "common.save": "Enregistrer",
    "common.cancel": "Annuler",
    "common.edit": "Modifier",
    "common.create": "Créer",
    "common.yes": "oui",
    "common.no": "non",
    "common.loading": "Chargement…",
    "common.previous": "Précédent",
    "common.next": "Suivant",
    "common.saved": "Enregistré.",
    "common.none": "Aucun.",
    "events.title": "Séances",
    "events.new": "Nouvelle séance",
    "events.empty": "Aucune séance pour l'instant.",
    "events.col.event": "Spectacle",
    "events.col.when": "Date",
    "events.col.room": "Salle",
    "events.col.kind": "Type",
    "events.col.sales": "Ventes",
    "events.seated": "Placement numéroté",
    "events.ga": "Placement libre",
    "events.open": "Ouvertes",
    "events.closed": "Fermées",
    "events.select": "Cocher {name} pour la grille tarifaire",
    "form.room": "Salle",
    "form.event_name": "Nom du spectacle",
    "form.starts_at": "Début",
    "form.ends_at": "Fin",
    "form.seated": "Numérotée (selon le plan de la salle)",
    "form.capacity": "Jauge (placement libre)",
    "form.contingents": "Contingents, un par ligne : nom = places",
    "form.sales_open": "Ventes ouvertes",
    "session.back": "Toutes les séances",
    "session.created": "Séance créée.",
    "tab.general": "Général",
    "tab.contingents": "Contingents",
    "tab.tariffs": "Tarifs",
    "tab.tickets": "Billets",
    "contingents.none": "Cette séance n'a pas de contingent.",
    "contingents.places": "{n} places",
    "blocked.title": "Places bloquées",
    "blocked.help": "Cliquez une place (ou placez-y le focus et appuyez sur Entrée) pour la bloquer ; cliquez une place bloquée pour la libérer. Une place réservée ou vendue ne peut pas être bloquée.",
    "blocked.done": "Place {seat} : bloquée.",
    "blocked.undone": "Place {seat} : de nouveau libre.",
    "blocked.ga": "Une séance en placement libre n'a pas de places à bloquer.",
    "tariffs.none": "Aucun tarif pour l'instant.",
    "tariffs.add": "Ajouter un tarif",
    "tariffs.edit": "Modifier le tarif {name}",
    "tariff.name": "Nom",
    "tariff.price": "Prix",
    "tariff.currency": "Devise",
    "tariff.tax": "Taux de TVA (%)",
    "tariff.categories": "Catégories de places (aucune cochée : toutes)",
    "tariff.note": "Conditions (justificatif…)",
    "tariff.active": "En vente",
    "tariff.all_categories": "toutes catégories",
    "tariff.inactive": "hors vente",
    "grid.title": "Grille tarifaire",
    "grid.help": "Cochez des séances dans la liste, décrivez les tarifs, puis appliquez-les à toutes les séances cochées d'un coup (tout ou rien).",
    "grid.selected": "{n} séances cochées",
    "grid.add_row": "Ajouter une ligne de tarif",
    "grid.remove_row": "Retirer cette ligne",
    "grid.apply": "Appliquer aux séances cochées",
    "grid.done": "{n} tarifs créés.",
    "grid.nothing": "Cochez au moins une séance.",
    "tickets.none": "Aucun billet pour l'instant.",
    "tickets.col.id": "Billet",
    "tickets.col.seat": "Place",
    "tickets.col.tariff": "Tarif",
    "tickets.col.price": "Prix",
    "tickets.col.status": "État",
    "tickets.col.order": "Commande",
    "tickets.col.channel": "Canal",
    "tickets.col.buyer": "Acheteur",
    "tickets.col.created": "Réservé le",
    "tickets.ga": "placement libre",
    "rooms.title": "Lieux et salles",
    "rooms.new_venue": "Nouveau lieu",
    "rooms.venue_name": "Nom du lieu",
    "rooms.new_room": "Nouvelle salle à {venue}",
    "rooms.room_name": "Nom de la salle",
    "rooms.none": "Aucun lieu pour l'instant.",
    "rooms.plan": "Plan de salle",
    "rooms.no_plan": "pas encore de plan",
    "rooms.plan_id": "plan n° {id}",
    "rooms.export": "Exporter le plan (JSON)",
    "rooms.import": "Importer un plan",
    "rooms.file": "Fichier du plan (JSON : Guichet ou pretix)",
    "rooms.format": "Format",
    "rooms.format.auto": "Selon son contenu",
    "rooms.format.guichet": "Guichet",
    "rooms.format.pretix": "pretix",
    "rooms.preview": "Aperçu",
    "rooms.preview_title": "Aperçu : {name}, {n} places (lu comme {format})",
    "rooms.save_plan": "Enregistrer comme plan de la salle",
    "rooms.imported": "Plan importé : {n} places ; {moved} séances déplacées dessus.",
    "rooms.bad_file": "Ce fichier n'est pas du JSON.",
  },
};

export let LANG = localStorage.getItem(LANG_KEY)
  || (navigator.language?.toLowerCase().startsWith("fr") ? "fr" : "en");
if (!STRINGS[LANG]) LANG = "en";

/** The string ``key`` in the page's language, ``{name}`` placeholders filled from ``vars``. */
export function t(key, vars = {}) {
  const text = STRINGS[LANG][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

export function setLanguage(lang) {
  localStorage.setItem(LANG_KEY, lang);
  LANG = lang;
  document.documentElement.lang = lang;
}

/** Fill every element with data-i18n (text) or data-i18n-label (aria-label). */
export function translatePage(root = document) {
  document.documentElement.lang = LANG;
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
}

export const $ = (id) => document.getElementById(id);

export function h(tag, attrs = {}, ...children) {
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

/** A refusal of the API: its stable code and its message, both shown. */
export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = error?.code || `http_${status}`;
    this.details = error || {};
  }

  toString() {
    return `${this.code}: ${this.message}`;
  }
}

let csrf = null;
let onSignedOut = () => {};

/** What to do on 401 (the page shows its sign-in form). */
export function whenSignedOut(handler) {
  onSignedOut = handler;
}

async function csrfToken() {
  if (csrf === null) {
    try {
      const me = await request("GET", "/api/auth/me");
      csrf = me?.csrf || "";
    } catch {
      csrf = "";
    }
  }
  return csrf;
}

async function request(method, path, body) {
  const headers = {};
  const token = localStorage.getItem(TOKEN);
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD") {
    const value = await csrfToken();
    if (value) headers["X-CSRF-Token"] = value;
  }
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const isJson = response.headers.get("content-type")?.includes("json");
  const data = isJson ? await response.json() : await response.text();
  if (!response.ok) throw new ApiError(response.status, data?.error);
  return data;
}

/** The JSON API: resolves with the body, rejects with an ``ApiError`` (code + message). */
export async function api(method, path, body) {
  try {
    return await request(method, path, body);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      localStorage.removeItem(TOKEN);
      csrf = null;
      onSignedOut();
    }
    throw err;
  }
}

export async function signIn(username, password) {
  const data = await request("POST", "/api/auth/login", { username, password });
  localStorage.setItem(TOKEN, data.token);
  csrf = null;
  return data;
}

/** A message in the page's live region: ``kind`` is error, ok or info, said in words too. */
export function message(text, kind = "error") {
  const prefix = { error: "⚠ ", ok: "✓ ", info: "ℹ " }[kind] || "";
  const box = h("div", { class: `msg msg-${kind}`, role: kind === "error" ? "alert" : "status",
    "data-testid": "message", "data-kind": kind }, prefix + String(text));
  $("messages").append(box);
  setTimeout(() => box.remove(), kind === "error" ? 12000 : 6000);
}

/** Run ``action``; an API refusal is shown as its code and message. */
export async function attempt(action) {
  try {
    return await action();
  } catch (err) {
    message(err instanceof ApiError ? err.toString() : String(err.message || err));
    return undefined;
  }
}

export function money(cents, currency = "EUR") {
  return new Intl.NumberFormat(LANG === "fr" ? "fr-FR" : "en-GB", { style: "currency", currency })
    .format(cents / 100);
}

export function when(iso) {
  return new Intl.DateTimeFormat(LANG === "fr" ? "fr-FR" : "en-GB", {
    dateStyle: "medium", timeStyle: "short",
  }).format(new Date(iso));
}

/** An ``<input type="datetime-local">`` value as ISO 8601 with this browser's offset. */
export function isoFromLocal(value) {
  const date = new Date(value);
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const pad = (n) => String(Math.floor(Math.abs(n))).padStart(2, "0");
  return `${value.length === 16 ? `${value}:00` : value}${sign}${pad(offset / 60)}:${pad(offset % 60)}`;
}

/** An ISO time as an ``<input type="datetime-local">`` value, in this browser's zone. */
export function localFromIso(iso) {
  const date = new Date(iso);
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 16);
}

/** The sign-in form of a page (``#view-signin``), then ``onDone``. */
export function wireSignIn(onDone) {
  $("signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    await attempt(async () => {
      await signIn($("username").value, $("password").value);
      await onDone();
    });
  });
}

export function wireLanguage(rerender) {
  const button = $("lang");
  button.textContent = t("lang.switch");
  button.addEventListener("click", () => {
    setLanguage(LANG === "fr" ? "en" : "fr");
    button.textContent = t("lang.switch");
    translatePage();
    rerender();
  });
}
