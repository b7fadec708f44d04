// The statistics page (permission stats.read): a period, then entries, places sold and
// revenue by weekday, time slot, tariff and room, the top sessions, the no-shows and the
// sales per channel over time (docs/accounting.md, "Statistics"). Each chart has its
// figures in a table beside it. The figures come over the `stats:0` channel, again
// whenever a sale or a scan changes them; the first ones also over HTTP.

import "./stats-text.js";
import { h } from "./dom.js";
import { i18n, locale, t } from "./i18n.js";
import { DoorLink } from "./scanner-link.js";
import { PROTOCOL } from "./protocol.js";
import { addConnectionIndicator, api, errorText, notify, requireSession, watchSession }
  from "./session.js";
import { categoryChart, DASHES, fitOnResize, timeChart } from "./stats-charts.js";

const $ = (id) => document.getElementById(id);
const TZ = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
const CHANNELS = ["desk", "eshop", "bar", "off_register"];
const state = { period: null, stats: null, shown: null, at: null, charts: [], link: null };

const count = (n) => new Intl.NumberFormat(locale()).format(n);
const money = (cents, currency) => (currency
  ? new Intl.NumberFormat(locale(), { style: "currency", currency }).format(cents / 100)
  : count(cents / 100));
const pct = (v) => (v === null || v === undefined ? "–" : `${new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format(v)} %`);
const weekday = (w) => new Intl.DateTimeFormat(locale(), { weekday: "long", timeZone: "UTC" })
  .format(new Date(Date.UTC(2024, 0, w))); // 2024-01-01 was a Monday
const hour = (n) => `${String(n).padStart(2, "0")}:00`;
const when = (iso) => new Intl.DateTimeFormat(locale(), { dateStyle: "short", timeStyle: "short" }).format(new Date(iso));
const localTime = (at, unit) => new Intl.DateTimeFormat(locale(), unit === "hour"
  ? { dateStyle: "short", timeStyle: "short", timeZone: "UTC" } : { dateStyle: "medium", timeZone: "UTC" })
  .format(new Date(`${at}:00Z`));
const num = (text) => h("td", { class: "num" }, text);
const whole = (v) => (Number.isInteger(v) ? count(v) : ""); // no 0.75 of a person on an axis

function table(testid, heads, rows, title) {
  const head = h("thead", {}, h("tr", {}, heads.map(([label, isNum]) =>
    h("th", { scope: "col", class: isNum ? "num" : null }, t(label)))));
  const body = h("tbody", {}, rows.length ? rows
    : h("tr", {}, h("td", { colspan: heads.length, class: "muted" }, t("st.none"))));
  return h("div", { class: "table-wrap", tabindex: "0", "aria-label": t("st.rows", { title: t(title) }) },
    h("table", { class: "admin-table", "data-testid": testid }, head, body));
}

/** The first currency of the period: the charts draw its amounts; the tables show all. */
const mainCurrency = (s) => s.totals[0]?.currency ?? null;

function summary(s) {
  const items = s.totals.length ? s.totals : [{ currency: null, sessions: 0, capacity: 0, sold: 0,
    entered: 0, no_shows: 0, revenue_cents: 0, occupancy_pct: null, attendance_pct: null }];
  return items.map((x) => h("dl", { class: "st-figures", "data-testid": "st-totals" },
    ...[["st.sessions", "st-sessions", count(x.sessions)], ["st.sold", "st-sold", count(x.sold)],
      ["st.entered", "st-entered", count(x.entered)], ["st.noShows", "st-no-shows", count(x.no_shows)],
      ["st.revenue", "st-revenue", money(x.revenue_cents, x.currency)],
      ["st.occupancy", "st-occupancy", pct(x.occupancy_pct)],
      ["st.attendance", "st-attendance", pct(x.attendance_pct)]]
      .map(([label, testid, value]) => h("div", {}, h("dt", {}, t(label)), h("dd", { "data-testid": testid }, value)))));
}

function describe(title, labels, bars, line) {
  // Every value when there are few (a screen reader hears the whole chart), else the highest.
  const best = bars.values.reduce((b, v, i) => (v > (bars.values[b] ?? -Infinity) ? i : b), 0);
  const value = (i) => [bars.format(bars.values[i]) || "0", line ? line.format(line.values[i]) || "0" : null]
    .filter((v) => v !== null).join(" / ");
  const top = !labels.length ? t("st.none") : labels.length <= 12
    ? `${labels.map((l, i) => t("st.summaryTotal", { label: l, value: value(i) })).join(" ; ")}.`
    : t("st.summaryMax", { label: labels[best], value: value(best) });
  return line ? t("st.chartBars", { title: t(title), bars: bars.label, line: line.label, summary: top })
    : t("st.chartOne", { title: t(title), bars: bars.label, summary: top });
}

/** A section: its title, a chart drawn after it is in the page, and its table. */
function section(id, title, chart, tableEl) {
  const figure = chart ? h("figure", { class: "st-chart", role: "img", "data-testid": `chart-${id}`,
    "aria-label": chart.label }, h("div", { class: "st-plot" }), h("figcaption", { class: "muted small" }, chart.label)) : null;
  const box = h("section", { class: "st-section card", "aria-labelledby": `st-h-${id}` },
    h("h2", { id: `st-h-${id}` }, t(title)), figure, chart ? h("p", { class: "sr-only" }, t("st.tableNote")) : null, tableEl);
  return { box, draw: chart ? () => chart.draw(figure.querySelector(".st-plot")) : null };
}

function categorySection(id, title, rows, label, currency, withOccupancy) {
  const mine = rows.filter((r) => r.currency === currency || r.currency === null);
  const labels = mine.map(label);
  const bars = { label: t("st.entered"), values: mine.map((r) => r.entered), format: whole };
  const line = { label: t("st.sold"), values: mine.map((r) => r.sold), format: whole };
  const chart = { label: describe(title, labels, bars, line), draw: (el) => categoryChart(el, labels, bars, line) };
  const heads = [[`st.${id}`], ["st.sessions", 1], ["st.sold", 1], ["st.entered", 1], ["st.revenue", 1]];
  if (withOccupancy) heads.push(["st.occupancy", 1], ["st.attendance", 1]);
  const body = rows.map((r) => h("tr", { "data-testid": `row-${id}` }, h("th", { scope: "row" }, label(r)),
    num(count(r.sessions)), num(count(r.sold)), num(count(r.entered)), num(money(r.revenue_cents, r.currency)),
    ...(withOccupancy ? [num(pct(r.occupancy_pct)), num(pct(r.attendance_pct))] : [])));
  return section(id, title, chart, table(`table-${id}`, heads, body, title));
}

function tariffSection(s, currency) {
  const mine = s.by_tariff.filter((r) => r.currency === currency);
  const labels = mine.map((r) => r.tariff);
  const bars = { label: t("st.revenue"), values: mine.map((r) => r.revenue_cents), format: (v) => money(v, currency) };
  const chart = { label: describe("st.byTariff", labels, bars, null), draw: (el) => categoryChart(el, labels, bars) };
  const body = s.by_tariff.map((r) => h("tr", { "data-testid": "row-tariff" }, h("th", { scope: "row" }, r.tariff),
    num(count(r.sessions)), num(count(r.sold)), num(count(r.entered)), num(money(r.revenue_cents, r.currency))));
  return section("tariff", "st.byTariff", chart, table("table-tariff",
    [["st.tariff"], ["st.sessions", 1], ["st.sold", 1], ["st.entered", 1], ["st.revenue", 1]], body, "st.byTariff"));
}

function roomSection(s) {
  const labels = s.by_room.map((r) => `${r.room} (${r.venue})`);
  const bars = { label: t("st.occupancy"), values: s.by_room.map((r) => r.occupancy_pct ?? 0), format: pct };
  const line = { label: t("st.attendance"), values: s.by_room.map((r) => r.attendance_pct ?? 0), format: pct };
  const chart = { label: describe("st.byRoom", labels, bars, line), draw: (el) => categoryChart(el, labels, bars, line) };
  const body = s.by_room.map((r, i) => h("tr", { "data-testid": "row-room", "data-room": r.room_id },
    h("th", { scope: "row" }, labels[i]), num(count(r.sessions)), num(count(r.capacity)), num(count(r.sold)),
    num(count(r.entered)), num(pct(r.occupancy_pct)), num(pct(r.attendance_pct)), num(money(r.revenue_cents, r.currency))));
  return section("room", "st.byRoom", chart, table("table-room", [["st.room"], ["st.sessions", 1], ["st.capacity", 1],
    ["st.sold", 1], ["st.entered", 1], ["st.occupancy", 1], ["st.attendance", 1], ["st.revenue", 1]], body, "st.byRoom"));
}

function sessionsSection(id, title, rows) {
  const body = rows.map((r) => h("tr", { "data-testid": `row-${id}`, "data-session": r.session_id },
    h("th", { scope: "row" }, r.event), h("td", {}, when(r.starts_at)), h("td", {}, r.room),
    num(count(r.sold)), num(count(r.entered)), num(count(r.no_shows)), num(money(r.revenue_cents, r.currency))));
  return section(id, title, null, table(`table-${id}`, [["st.session"], ["st.start"], ["st.room"], ["st.sold", 1],
    ["st.entered", 1], ["st.noShows", 1], ["st.revenue", 1]], body, title));
}

function overTimeSection(s, currency) {
  const { unit, rows } = s.sales_over_time;
  const at = [...new Set(rows.map((r) => r.at))].sort();
  const used = CHANNELS.filter((c) => rows.some((r) => r.channel === c && r.currency === currency));
  const lines = used.map((c) => ({ label: t(`st.ch.${c}`),
    values: at.map((a) => rows.find((r) => r.at === a && r.channel === c && r.currency === currency)?.gross_cents ?? 0) }));
  const totals = lines.map((l) => t("st.summaryTotal", { label: l.label, value: money(l.values.reduce((a, b) => a + b, 0), currency) }));
  const label = t("st.chartLines", { title: t("st.overTime"), unit: t(unit === "hour" ? "st.perHour" : "st.perDay"),
    summary: totals.length ? `${totals.join(", ")}.` : t("st.none") });
  const chart = { label, draw: (el) => timeChart(el, at, lines, (v) => money(v, currency)) };
  const body = rows.map((r) => h("tr", { "data-testid": "row-over-time", "data-channel": r.channel },
    h("td", {}, localTime(r.at, unit)), h("th", { scope: "row" }, t(`st.ch.${r.channel}`),
      h("span", { class: "st-dash", "aria-hidden": "true", "data-dash": DASHES[CHANNELS.indexOf(r.channel) % 4].join(",") })),
    num(count(r.lines)), num(count(r.tickets)), num(money(r.gross_cents, r.currency))));
  return section("over-time", "st.overTime", lines.length ? chart : null, table("table-over-time",
    [["st.at"], ["st.channel"], ["st.lines", 1], ["st.tickets", 1], ["st.gross", 1]], body, "st.overTime"));
}

function render() {
  const s = state.stats;
  if (!s) return;
  const currency = mainCurrency(s);
  const parts = [
    categorySection("weekday", "st.byWeekday", s.by_weekday, (r) => weekday(r.weekday), currency, true),
    categorySection("hour", "st.byHour", s.by_hour, (r) => hour(r.hour), currency, true),
    tariffSection(s, currency),
    roomSection(s),
    sessionsSection("top-entries", "st.topEntries", s.top_by_entries),
    sessionsSection("top-revenue", "st.topRevenue", s.top_by_revenue),
    sessionsSection("no-shows", "st.noShowTitle", s.no_shows),
    overTimeSection(s, currency),
  ];
  $("st-summary").replaceChildren(...summary(s));
  $("st-sections").replaceChildren(...parts.map((p) => p.box));
  for (const chart of state.charts) chart.destroy();
  state.charts = parts.filter((p) => p.draw).map((p) => p.draw());
  renderFreshness();
}

function renderFreshness() {
  if (!state.at) return;
  const time = new Intl.DateTimeFormat(locale(), { timeStyle: "medium" }).format(state.at);
  const live = state.link?.status === "open";
  $("st-fresh").textContent = t(live ? "st.updated" : "st.stale", { time });
  $("st-fresh").dataset.live = live ? "true" : "false";
}

function take(stats) {
  state.at = new Date();
  const text = JSON.stringify(stats);
  const same = text === state.shown;
  state.stats = stats;
  state.shown = text;
  // The same figures again (the subscription's first frame after the page's own read):
  // only the time they were read changes, so a reader's place in a table and the charts stay.
  if (same) renderFreshness();
  else render();
}

function onFrame(m) {
  if (m.type !== PROTOCOL.SERVER.STATS) return;
  const expected = state.period?.expected;
  if (expected && expected !== `${m.period.from}|${m.period.to}`) return; // a period we left
  take(m.stats);
}

async function show() {
  const from = $("f-from").value;
  const to = $("f-to").value;
  state.period = { from, to, tz: TZ };
  $("st-period").textContent = t("st.period", { from, to, tz: TZ });
  state.link.subscribe(`${PROTOCOL.CHANNEL.STATS}:0`, onFrame, { period: { from, to, tz: TZ } });
  try {
    const stats = await api("GET", `/api/stats?${new URLSearchParams({ from, to, tz: TZ })}`);
    state.period.expected = `${stats.from}|${stats.to}`;
    take(stats);
  } catch (err) {
    notify(errorText(err));
  }
}

const user = await requireSession(["stats.read"]);
if (user) {
  const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  const today = new Date();
  $("f-to").value = iso(today);
  $("f-from").value = iso(new Date(today.getFullYear(), today.getMonth(), 1));
  state.link = new DoorLink(null); // no token: the session cookie signs the socket in
  watchSession(state.link);
  addConnectionIndicator(state.link);
  state.link.addEventListener("status", renderFreshness);
  fitOnResize(() => state.charts);
  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    show();
  });
  i18n.addEventListener("languagechange", () => {
    if (state.period) $("st-period").textContent = t("st.period", state.period);
    render();
  });
  await show();
}
