// The audit log (permission admin): who did what and when, newest first, filtered by action
// prefix, actor, subject and dates, in pages; the same filters download as CSV.

import { i18n, locale, register, t } from "./i18n.js";
import { h } from "./dom.js";
import { api, errorText, notify, requireSession } from "./session.js";

const $ = (id) => document.getElementById(id);
const PAGE = 50;
const state = { offset: 0, total: 0, items: [], filters: new URLSearchParams() };

register({
  fr: {
    "audit.title": "Journal d'audit",
    "audit.action": "Action (commence par)",
    "audit.actionHint": "ex. user.",
    "audit.actor": "Auteur",
    "audit.actorHint": "nom exact ou numéro",
    "audit.subject": "Objet",
    "audit.subjectHint": "ex. user:12",
    "audit.since": "Depuis le",
    "audit.until": "Jusqu'au",
    "audit.filter": "Filtrer",
    "audit.csv": "Télécharger en CSV",
    "audit.paging": "Pages du journal",
    "audit.count": ({ total }) => `${total} entrée${total > 1 ? "s" : ""}`,
    "audit.none": "Aucune entrée ne correspond.",
    "audit.by": "par {actor}",
    "audit.system": "le système",
    "audit.device": "appareil {id}",
    "audit.pos": "point de vente {name}",
  },
  en: {
    "audit.title": "Audit log",
    "audit.action": "Action (prefix)",
    "audit.actionHint": "e.g. user.",
    "audit.actor": "Actor",
    "audit.actorHint": "exact name or number",
    "audit.subject": "Subject",
    "audit.subjectHint": "e.g. user:12",
    "audit.since": "From",
    "audit.until": "Until",
    "audit.filter": "Filter",
    "audit.csv": "Download as CSV",
    "audit.paging": "Log pages",
    "audit.count": ({ total }) => `${total} entr${total === 1 ? "y" : "ies"}`,
    "audit.none": "No entry matches.",
    "audit.by": "by {actor}",
    "audit.system": "the system",
    "audit.device": "device {id}",
    "audit.pos": "point of sale {name}",
  },
});

/** The filters of the form; the dates are whole local days, both included. */
function readFilters() {
  const params = new URLSearchParams();
  for (const name of ["action", "actor", "subject"]) {
    const value = $(`f-${name}`).value.trim();
    if (value) params.set(name, value);
  }
  const since = $("f-since").value;
  const until = $("f-until").value;
  if (since) params.set("since", new Date(`${since}T00:00:00`).toISOString());
  if (until) {
    const end = new Date(`${until}T00:00:00`); // `until` is exclusive: the next midnight
    end.setDate(end.getDate() + 1);
    params.set("until", end.toISOString());
  }
  return params;
}

function entry(item) {
  const actor = item.actor_name || (item.device_id ? t("audit.device", { id: item.device_id })
    : item.actor_id ? `#${item.actor_id}` : t("audit.system"));
  const pairs = Object.entries(item.details || {}).map(([key, value]) =>
    `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`);
  const details = pairs.length ? h("pre", { class: "audit-details" }, pairs.join("\n")) : null;
  return h("li", { class: "record", "data-testid": "audit-entry", "data-action": item.action },
    h("div", { class: "record-head" },
      h("h3", {}, h("code", {}, item.action), " ", item.subject || ""),
      h("time", { datetime: item.at, class: "muted small" },
        new Date(item.at).toLocaleString(locale(), { dateStyle: "medium", timeStyle: "medium" }))),
    h("p", { class: "small" }, t("audit.by", { actor }),
      item.point_of_sale ? ` · ${t("audit.pos", { name: item.point_of_sale })}` : "",
      item.address ? ` · ${item.address}` : ""),
    details);
}

function render() {
  $("entries").replaceChildren(...state.items.map(entry));
  if (!state.items.length) $("entries").append(h("li", { class: "muted" }, t("audit.none")));
  const from = state.total ? state.offset + 1 : 0;
  const to = state.offset + state.items.length;
  $("audit-count").textContent = t("audit.count", { total: state.total })
    + (state.total > PAGE ? ` · ${t("page.range", { from, to, total: state.total })}` : "");
  $("prev").disabled = state.offset === 0;
  $("next").disabled = to >= state.total;
}

async function load() {
  const params = new URLSearchParams(state.filters);
  $("csv").href = `/api/audit.csv${params.toString() ? `?${params}` : ""}`;
  params.set("limit", String(PAGE));
  params.set("offset", String(state.offset));
  try {
    const data = await api("GET", `/api/audit?${params}`);
    state.items = data.items || [];
    state.total = data.total ?? state.items.length;
    render();
  } catch (err) {
    notify(errorText(err));
  }
}

const user = await requireSession(["admin"]);
if (user) {
  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    state.filters = readFilters();
    state.offset = 0;
    load();
  });
  $("prev").addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - PAGE);
    load();
  });
  $("next").addEventListener("click", () => {
    state.offset += PAGE;
    load();
  });
  i18n.addEventListener("languagechange", render);
  await load();
}
