// API keys of the organiser's websites (permission admin): the list, a new key shown once
// with a copy button and the embed snippet for a chosen session, and revocation.

import { i18n, locale, register, t } from "./i18n.js";
import { h } from "./dom.js";
import { api, errorText, notify, requireSession } from "./session.js";
import { everything } from "./paging.js";

const $ = (id) => document.getElementById(id);
const state = { keys: [], sessions: [], created: null };

register({
  fr: {
    "keys.title": "Clés d'API des sites web",
    "keys.list": "Clés existantes",
    "keys.none": "Aucune clé.",
    "keys.create": "Nouvelle clé",
    "keys.name": "Nom du site",
    "keys.origins": "Origines autorisées (une par ligne)",
    "keys.originsHelp": "Adresse du site telle que le navigateur l'envoie : https://nom[:port], sans chemin.",
    "keys.rate": "Requêtes par minute",
    "keys.createSubmit": "Créer la clé",
    "keys.createdFor": "Clé créée pour « {name} »",
    "keys.onlyOnce": "Copiez la clé maintenant : elle ne sera plus jamais affichée.",
    "keys.key": "Clé",
    "keys.copyKey": "Copier la clé",
    "keys.session": "Séance du sélecteur intégré",
    "keys.noSession": "Aucune séance à venir",
    "keys.snippet": "Code à coller dans le site",
    "keys.copySnippet": "Copier le code",
    "keys.copied": "Copié dans le presse-papiers.",
    "keys.copyFailed": "Copie impossible : sélectionnez le texte et copiez-le à la main.",
    "keys.active": "Active",
    "keys.revoked": "Révoquée le {when}",
    "keys.prefix": "Commence par {prefix}…",
    "keys.perMinute": "{n} requêtes / minute",
    "keys.noOrigin": "Aucune origine (appels de serveur à serveur seulement)",
    "keys.created": "Créée le {when}",
    "keys.revoke": "Révoquer",
    "keys.revokeAsk": "Révoquer la clé « {name} » ? Le site ne pourra plus l'utiliser.",
    "keys.revokedDone": "La clé « {name} » est révoquée.",
    "keys.badName": "Donnez un nom au site.",
    "keys.badRate": "Les requêtes par minute : de 1 à 100 000.",
  },
  en: {
    "keys.title": "Website API keys",
    "keys.list": "Keys",
    "keys.none": "No key.",
    "keys.create": "New key",
    "keys.name": "Website name",
    "keys.origins": "Allowed origins (one per line)",
    "keys.originsHelp": "The site's address as the browser sends it: https://name[:port], no path.",
    "keys.rate": "Requests per minute",
    "keys.createSubmit": "Create the key",
    "keys.createdFor": "Key created for “{name}”",
    "keys.onlyOnce": "Copy the key now: it will never be shown again.",
    "keys.key": "Key",
    "keys.copyKey": "Copy the key",
    "keys.session": "Session of the embedded picker",
    "keys.noSession": "No upcoming session",
    "keys.snippet": "Code to paste into the website",
    "keys.copySnippet": "Copy the code",
    "keys.copied": "Copied to the clipboard.",
    "keys.copyFailed": "Could not copy: select the text and copy it by hand.",
    "keys.active": "Active",
    "keys.revoked": "Revoked on {when}",
    "keys.prefix": "Starts with {prefix}…",
    "keys.perMinute": "{n} requests / minute",
    "keys.noOrigin": "No origin (server-to-server calls only)",
    "keys.created": "Created {when}",
    "keys.revoke": "Revoke",
    "keys.revokeAsk": "Revoke the key “{name}”? The website will not be able to use it any more.",
    "keys.revokedDone": "The key “{name}” is revoked.",
    "keys.badName": "Give the website a name.",
    "keys.badRate": "Requests per minute: 1 to 100,000.",
  },
});

const when = (iso) =>
  new Date(iso).toLocaleString(locale(), { dateStyle: "medium", timeStyle: "short" });

function keyRow(key) {
  const revoked = Boolean(key.revoked_at);
  return h("li", { class: "record", "data-testid": "api-key-row", "data-key-name": key.name,
    "data-state": revoked ? "revoked" : "active" },
    h("div", { class: "record-head" }, h("h3", {}, key.name),
      revoked
        ? h("span", { class: "tag tag-off", "data-testid": "key-state" },
          t("keys.revoked", { when: when(key.revoked_at) }))
        : h("span", { class: "tag tag-on", "data-testid": "key-state" }, t("keys.active"))),
    h("p", { class: "small", "data-testid": "key-origins-listed" },
      key.origins.length ? key.origins.join(", ") : t("keys.noOrigin")),
    h("p", { class: "muted small" }, t("keys.prefix", { prefix: key.prefix }), " · ",
      h("span", { "data-testid": "key-rate-listed" },
        t("keys.perMinute", { n: key.rate_per_minute.toLocaleString(locale()) })),
      " · ", t("keys.created", { when: when(key.created_at) })),
    revoked ? null : h("div", { class: "row-actions" },
      h("button", { type: "button", class: "btn btn-small", "data-testid": "key-revoke",
        onclick: () => revoke(key) }, t("keys.revoke"))));
}

function renderKeys() {
  $("keys").replaceChildren(...state.keys.map(keyRow));
  $("keys-none").hidden = state.keys.length > 0;
}

async function loadKeys() {
  try {
    state.keys = (await api("GET", "/api/api-keys")).keys;
    renderKeys();
  } catch (err) {
    notify(errorText(err));
  }
}

async function loadSessions() {
  try {
    const { sessions } = await everything((path) => api("GET", path), "/api/sessions", "sessions");
    state.sessions = sessions;
  } catch (err) {
    notify(errorText(err));
  }
}

function renderSessions() {
  const select = $("embed-session");
  const chosen = select.value;
  const options = state.sessions.map((s) =>
    new Option(`${s.event_name} · ${when(s.starts_at)} · ${s.room_name}`, String(s.id)));
  select.replaceChildren(...(options.length ? options : [new Option(t("keys.noSession"), "")]));
  if (chosen && state.sessions.some((s) => String(s.id) === chosen)) select.value = chosen;
}

function snippet(key, sessionId) {
  const session = sessionId || "SESSION_ID";
  return `<script src="${window.location.origin}/embed.js" data-session="${session}"`
    + ` data-key="${key}"></script>`;
}

function renderCreated() {
  const created = state.created;
  $("created").hidden = !created;
  if (!created) return;
  $("created-title").textContent = t("keys.createdFor", { name: created.name });
  $("created-key").value = created.key;
  renderSessions();
  $("embed-snippet").value = snippet(created.key, $("embed-session").value);
}

async function copy(field) {
  const text = field.value;
  let done = false;
  try {
    await navigator.clipboard.writeText(text);
    done = true;
  } catch {
    field.select();
    done = document.execCommand("copy");
  }
  $("copy-done").textContent = t(done ? "keys.copied" : "keys.copyFailed");
}

function fail(text, code = "") {
  const box = $("key-error");
  box.textContent = text;
  box.dataset.code = code;
  box.hidden = false;
}

async function createKey(event) {
  event.preventDefault();
  const name = $("key-name").value.trim();
  const rate = Number($("key-rate").value);
  if (!name) return fail(t("keys.badName"));
  if (!Number.isInteger(rate) || rate < 1 || rate > 100000) return fail(t("keys.badRate"));
  const origins = $("key-origins").value.split(/[\s,]+/).filter(Boolean);
  try {
    state.created = await api("POST", "/api/api-keys", { name, origins, rate_per_minute: rate });
    $("key-error").hidden = true;
    $("key-form").reset();
    renderCreated();
    $("created").scrollIntoView({ block: "nearest" });
    await loadKeys();
  } catch (err) {
    fail(errorText(err), err.code || "");
  }
}

async function revoke(key) {
  if (!window.confirm(t("keys.revokeAsk", { name: key.name }))) return;
  try {
    await api("POST", `/api/api-keys/${key.id}/revoke`);
    notify(t("keys.revokedDone", { name: key.name }), "success");
    await loadKeys();
  } catch (err) {
    notify(errorText(err));
  }
}

const user = await requireSession(["admin"]);
if (user) {
  $("key-form").addEventListener("submit", createKey);
  $("copy-key").addEventListener("click", () => copy($("created-key")));
  $("copy-snippet").addEventListener("click", () => copy($("embed-snippet")));
  $("embed-session").addEventListener("change", () => {
    if (state.created) $("embed-snippet").value = snippet(state.created.key, $("embed-session").value);
  });
  i18n.addEventListener("languagechange", () => { renderKeys(); renderCreated(); });
  await Promise.all([loadKeys(), loadSessions()]);
}
