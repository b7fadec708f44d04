// The calendar of advance sales at the cash desk: a month of days (a grid the arrow keys move
// through: ←/→ a day, ↑/↓ a week, Home/End the week's ends, Page Up/Down a month), each day
// saying how many sessions start then (in figures, not by colour), from
// GET /api/sessions?from=&to= (the month, in local time); picking a day shows its sessions as
// tiles with live gauges (pos-sessions.js). The month is kept while the desk sells.

import { h } from "./dom.js";
import { locale, register, t } from "./i18n.js";
import { everything } from "./paging.js";
import { sessionTiles } from "./pos-sessions.js";
import { timeOf } from "./pos-util.js";
import { api, errorText } from "./session.js";

register({
  fr: {
    "cal.open": "Calendrier des ventes à l'avance",
    "cal.prev": "Mois précédent",
    "cal.next": "Mois suivant",
    "cal.count": "{n} séance(s)",
    "cal.none": "Aucune séance ce jour-là.",
    "cal.day": "Séances du {date}",
    "cal.help": "Flèches : jour et semaine ; Page préc./suiv. : mois ; Entrée : afficher les séances du jour.",
  },
  en: {
    "cal.open": "Calendar of advance sales",
    "cal.prev": "Previous month",
    "cal.next": "Next month",
    "cal.count": "{n} session(s)",
    "cal.none": "No session on that day.",
    "cal.day": "Sessions on {date}",
    "cal.help": "Arrows: day and week; Page Up/Down: month; Enter: show the day's sessions.",
  },
});

const pad = (n) => String(n).padStart(2, "0");
export const dayKey = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
const addDays = (d, n) => new Date(d.getFullYear(), d.getMonth(), d.getDate() + n);
const monday = (d) => addDays(d, -((d.getDay() + 6) % 7));

/** The calendar; `onOpen(sessionId)` opens a session; `gauges` (tileGauges) keeps the day's
 * tiles live. */
export function sessionCalendar(onOpen, gauges) {
  let focus = new Date();
  focus = new Date(focus.getFullYear(), focus.getMonth(), focus.getDate());
  let month = null; // the first day of the month shown
  let byDay = new Map(); // day key -> sessions
  let picked = null;
  let loading = 0;

  const title = h("h3", { class: "cal-title", id: "cal-title", "aria-live": "polite", "data-testid": "calendar-month" });
  const grid = h("table", { class: "cal-grid", role: "grid", "aria-labelledby": "cal-title", "data-testid": "calendar" });
  const said = h("p", { class: "small muted", role: "status" });
  const day = h("div", { class: "cal-day", "data-testid": "calendar-sessions" });
  const nav = (delta, key, testid) => h("button", { type: "button", class: "btn btn-small", "data-testid": testid,
    "aria-label": t(key), title: t(key), onclick: () => move(new Date(month.getFullYear(), month.getMonth() + delta, 1), false) },
  delta < 0 ? "‹" : "›");

  async function load() {
    const token = ++loading;
    const from = month;
    const to = new Date(month.getFullYear(), month.getMonth() + 1, 1);
    const query = new URLSearchParams({ from: from.toISOString(), to: to.toISOString() });
    try {
      const { sessions } = await everything((p) => api("GET", p), `/api/sessions?${query}`, "sessions");
      if (token !== loading) return;
      byDay = new Map();
      for (const s of sessions) {
        const k = dayKey(new Date(s.starts_at));
        if (!byDay.has(k)) byDay.set(k, []);
        byDay.get(k).push(s);
      }
      said.textContent = "";
    } catch (err) {
      if (token !== loading) return;
      byDay = new Map();
      said.textContent = errorText(err);
    }
    render(false);
  }

  function cell(d) {
    const k = dayKey(d);
    const n = byDay.get(k)?.length || 0;
    const inMonth = d.getMonth() === month.getMonth();
    const label = d.toLocaleDateString(locale(), { weekday: "long", day: "numeric", month: "long", year: "numeric" });
    return h("td", { role: "gridcell", "aria-selected": String(k === picked) }, h("button", {
      type: "button", class: `cal-date${inMonth ? "" : " cal-other"}${n ? " cal-has" : ""}`,
      "data-testid": "calendar-day", "data-date": k, "data-count": n,
      tabindex: k === dayKey(focus) ? "0" : "-1",
      "aria-label": n ? `${label}, ${t("cal.count", { n })}` : label,
      "aria-current": k === dayKey(new Date()) ? "date" : null,
      onclick: () => pick(d), onkeydown: (e) => key(e, d),
    }, h("span", { class: "cal-num" }, k === picked ? `✓ ${d.getDate()}` : String(d.getDate())),
    n ? h("span", { class: "cal-count", "aria-hidden": "true" }, `● ${n}`) : null));
  }

  function render(focusCell) {
    title.textContent = month.toLocaleDateString(locale(), { month: "long", year: "numeric" });
    const start = monday(month);
    const head = h("tr", {}, [...Array(7)].map((_, i) => h("th", { scope: "col", abbr: addDays(start, i)
      .toLocaleDateString(locale(), { weekday: "long" }) }, addDays(start, i).toLocaleDateString(locale(), { weekday: "narrow" }))));
    const rows = [];
    for (let w = 0; w < 6; w++) {
      const first = addDays(start, 7 * w);
      if (w > 3 && first.getMonth() !== month.getMonth()) break;
      rows.push(h("tr", {}, [...Array(7)].map((_, i) => cell(addDays(first, i)))));
    }
    grid.replaceChildren(h("thead", {}, head), h("tbody", {}, rows));
    if (focusCell) grid.querySelector(`[data-date="${dayKey(focus)}"]`)?.focus();
    if (picked) showDay();
  }

  function move(d, focusCell = true) {
    focus = d;
    const m = new Date(d.getFullYear(), d.getMonth(), 1);
    if (!month || m.getTime() !== month.getTime()) {
      month = m;
      render(focusCell);
      load().then(() => focusCell && grid.querySelector(`[data-date="${dayKey(focus)}"]`)?.focus());
    } else {
      render(focusCell);
    }
  }

  function key(e, d) {
    const moves = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -7, ArrowDown: 7 };
    let next = null;
    if (e.key in moves) next = addDays(d, moves[e.key]);
    else if (e.key === "Home") next = monday(d);
    else if (e.key === "End") next = addDays(monday(d), 6);
    else if (e.key === "PageUp") next = new Date(d.getFullYear(), d.getMonth() - 1, Math.min(d.getDate(), 28));
    else if (e.key === "PageDown") next = new Date(d.getFullYear(), d.getMonth() + 1, Math.min(d.getDate(), 28));
    if (!next) return;
    e.preventDefault();
    move(next);
  }

  function pick(d) {
    picked = dayKey(d);
    focus = d;
    render(false);
    showDay();
  }

  function showDay() {
    const list = byDay.get(picked) || [];
    const date = new Date(`${picked}T12:00:00`).toLocaleDateString(locale(), { weekday: "long", day: "numeric", month: "long" });
    day.replaceChildren(h("h3", {}, t("cal.day", { date })), list.length
      ? sessionTiles(list, onOpen, { time: timeOf, testid: "calendar-session" })
      : h("p", { class: "muted" }, t("cal.none")));
    gauges.watch(day);
  }

  const element = h("details", { class: "calendar", "data-testid": "calendar-panel",
    ontoggle: (e) => {
      if (e.target.open && !month) move(focus, false);
    } },
  h("summary", { "data-testid": "calendar-open" }, `▦ ${t("cal.open")}`),
  h("div", { class: "cal-head" }, nav(-1, "cal.prev", "calendar-prev"), title, nav(1, "cal.next", "calendar-next")),
  h("p", { class: "small muted" }, t("cal.help")), said, grid, day);
  return element;
}
