// The accounting page (permission accounting.read): a period and filters, then the sales
// statement (paged lines with their totals), the accounting statement (takings by day,
// sales by item, per tax rate and method, the wallet, unpaid reservations) and the
// register statements, each with its CSV and Excel downloads (docs/accounting.md).

import "./accounting-text.js";
import { i18n, locale, t } from "./i18n.js";
import { h } from "./dom.js";
import { api, can, errorText, notify, requireSession } from "./session.js";
import { refundCell } from "./accounting-refund.js";
import { renderJobs, startExports } from "./accounting-exports.js";

const $ = (id) => document.getElementById(id);
const PAGE = 50;
const FILTERS = ["channel", "method", "point_of_sale_id", "register_id", "cashier_id"];
const REGISTER_FILTERS = ["point_of_sale_id", "register_id", "cashier_id"];
const TZ = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
const state = { offset: 0, params: null, sales: null, accounting: null, registers: null, refunds: false };

const money = (cents, currency = "EUR") =>
  new Intl.NumberFormat(locale(), { style: "currency", currency }).format(cents / 100);
const rate = (bp) => `${new Intl.NumberFormat(locale(), { maximumFractionDigits: 2 }).format(bp / 100)} %`;
const when = (iso) => (iso ? new Intl.DateTimeFormat(locale(), { dateStyle: "short", timeStyle: "short" }).format(new Date(iso)) : "");
const day = (iso) => new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeZone: "UTC" }).format(new Date(`${iso}T00:00:00Z`));
const methodName = (m) => (m ? m.split("+").map((x) => t(`acc.m.${x}`)).join(" + ") : "—");
const num = (text) => h("td", { class: "num" }, text);

function table(id, heads, rows, foot) {
  const head = h("thead", {}, h("tr", {}, heads.map(([label, isNum]) =>
    h("th", { scope: "col", class: isNum ? "num" : null }, t(label)))));
  const body = h("tbody", {}, rows.length ? rows
    : h("tr", {}, h("td", { colspan: heads.length, class: "muted" }, t("acc.none"))));
  const el = id ? $(id) : h("table", { class: "admin-table" });
  el.replaceChildren(head, body, ...(foot && rows.length ? [h("tfoot", {}, foot)] : []));
  return el;
}

const wrap = (el, label) => h("div", { class: "table-wrap", tabindex: "0", "aria-label": t(label) }, el);

/** The period and filters as query parameters (the period in the browser's zone). */
function readParams() {
  const params = new URLSearchParams({ from: $("f-from").value, to: $("f-to").value, tz: TZ });
  for (const name of FILTERS) {
    const value = $(`f-${name}`).value;
    if (value) params.set(name, value);
  }
  return params;
}

function only(params, names) {
  const out = new URLSearchParams({ from: params.get("from"), to: params.get("to"), tz: TZ });
  for (const name of names) if (params.get(name)) out.set(name, params.get(name));
  return out;
}

function setDownloads() {
  for (const link of document.querySelectorAll("[data-export]")) {
    const kind = link.dataset.export;
    const params = kind === "registers" ? only(state.params, REGISTER_FILTERS) : state.params;
    link.href = `/api/statements/${kind}.${link.dataset.format}?${params}`;
  }
}

function salesRow(ln) {
  const where = [ln.point_of_sale, ln.register].filter(Boolean).join(" · ") || "—";
  return h("tr", { class: ln.kind, "data-testid": "sales-line" },
    h("td", {}, when(ln.paid_at)), h("td", {}, when(ln.event_at)),
    h("td", {}, t(`acc.kind.${ln.kind}`)), h("td", {}, t(`acc.ch.${ln.channel}`)),
    h("td", {}, where), h("td", {}, ln.cashier || "—"), h("td", {}, ln.description),
    num(String(ln.quantity)), num(rate(ln.tax_rate_bp)), num(money(ln.net_cents, ln.currency)),
    num(money(ln.tax_cents, ln.currency)), num(money(ln.gross_cents, ln.currency)),
    h("td", {}, methodName(ln.method)), state.refunds ? refundCell(ln, load) : null);
}

function renderSales() {
  const data = state.sales;
  if (!data) return;
  const heads = [["acc.col.paid"], ["acc.col.event"], ["acc.col.kind"], ["acc.col.channel"],
    ["acc.col.where"], ["acc.col.cashier"], ["acc.col.what"], ["acc.col.qty", 1],
    ["acc.col.rate", 1], ["acc.col.net", 1], ["acc.col.tax", 1], ["acc.col.gross", 1],
    ["acc.col.method"], ...(state.refunds ? [["acc.col.refund"]] : [])];
  const foot = data.totals.overall.map((o) => h("tr", { "data-testid": "sales-total" },
    h("td", { colspan: 7 }, `${t("acc.total")} · ${t("acc.lines", { n: o.lines })}`),
    h("td", {}), h("td", {}), num(money(o.net_cents, o.currency)),
    num(money(o.tax_cents, o.currency)), num(money(o.gross_cents, o.currency)), h("td", {}),
    state.refunds ? h("td", {}) : null));
  table("sales-table", heads, data.lines.map(salesRow), foot);
  $("sales-totals").replaceChildren(h("ul", { class: "totals" },
    data.totals.by_method.map((m) => h("li", { "data-testid": "sales-method" },
      `${methodName(m.method)} : ${money(m.amount_cents, m.currency)}`)),
    data.totals.by_rate.map((r) => h("li", {},
      `${t("acc.col.rate")} ${rate(r.tax_rate_bp)} : ${money(r.tax_cents, r.currency)} / ${money(r.gross_cents, r.currency)}`))));
  const total = data.totals.overall.reduce((n, o) => n + o.lines, 0);
  const to = state.offset + data.lines.length;
  $("sales-range").textContent = total ? t("acc.range", { from: state.offset + 1, to, total }) : "";
  $("prev").disabled = state.offset === 0;
  $("next").disabled = data.next_offset === null;
}

function renderAccounting() {
  const a = state.accounting;
  if (!a) return;
  const byDay = table(null, [["acc.col.day"], ["acc.col.method"], ["acc.pos"],
    ["acc.col.sales", 1], ["acc.col.topups", 1]], a.by_day.map((d) => h("tr", {},
    h("td", {}, day(d.day)), h("td", {}, methodName(d.method)), h("td", {}, d.point_of_sale || "—"),
    num(money(d.sales_cents, d.currency)), num(money(d.topups_cents, d.currency)))));
  const byItem = table(null, [["acc.col.item"], ["acc.col.unit", 1], ["acc.col.rate", 1],
    ["acc.col.qty", 1], ["acc.col.net", 1], ["acc.col.tax", 1], ["acc.col.gross", 1]],
  a.by_item.map((i) => h("tr", {}, h("td", {}, i.description),
    num(money(i.unit_gross_cents, i.currency)), num(rate(i.tax_rate_bp)), num(String(i.quantity)),
    num(money(i.net_cents, i.currency)), num(money(i.tax_cents, i.currency)),
    num(money(i.gross_cents, i.currency)))));
  const byRate = table(null, [["acc.col.rate"], ["acc.col.net", 1], ["acc.col.tax", 1],
    ["acc.col.gross", 1]], a.by_rate.map((r) => h("tr", { "data-testid": "acc-rate" },
    h("td", {}, rate(r.tax_rate_bp)), num(money(r.net_cents, r.currency)),
    num(money(r.tax_cents, r.currency)), num(money(r.gross_cents, r.currency)))));
  const byMethod = table(null, [["acc.col.method"], ["acc.col.amount", 1]],
    a.by_method.map((m) => h("tr", {}, h("td", {}, methodName(m.method)),
      num(money(m.amount_cents, m.currency)))));
  const moves = table(null, [["acc.wallet"], ["acc.in", 1], ["acc.out", 1]],
    a.wallet_movements.map((m) => h("tr", {}, h("td", {}, t(`acc.moves.${m.kind}`)),
      num(money(m.into_wallets_cents, m.currency)), num(money(m.out_of_wallets_cents, m.currency)))));
  const open = a.open.length ? a.open.map((o) => h("p", { "data-testid": "acc-open" }, t("acc.openLine",
    { reservations: o.reservations, tickets: o.tickets, amount: money(o.amount_cents, o.currency) })))
    : [h("p", { class: "muted" }, t("acc.openNone"))];
  $("accounting-body").replaceChildren(
    h("h3", {}, t("acc.byDay")), wrap(byDay, "acc.byDay"),
    h("h3", {}, t("acc.byItem")), wrap(byItem, "acc.byItem"),
    h("h3", {}, t("acc.byRate")), wrap(byRate, "acc.byRate"),
    h("h3", {}, t("acc.byMethod")), wrap(byMethod, "acc.byMethod"),
    h("h3", {}, t("acc.wallet")),
    ...a.wallet_float.map((f) => h("p", { "data-testid": "acc-float" }, t("acc.walletFloat",
      { start: money(f.start_cents, f.currency), end: money(f.end_cents, f.currency), currency: f.currency }))),
    wrap(moves, "acc.wallet"),
    h("h3", {}, t("acc.open")), ...open);
}

function difference(s) {
  if (s.difference_cents === null) return t("acc.open.session");
  if (s.difference_cents === 0) return t("acc.diff.none");
  const amount = money(Math.abs(s.difference_cents), s.currency);
  return t(s.difference_cents > 0 ? "acc.diff.over" : "acc.diff.short", { amount });
}

function renderRegisters() {
  const r = state.registers;
  if (!r) return;
  const heads = [["acc.col.session"], ["acc.col.where"], ["acc.col.cashier"], ["acc.col.opened"],
    ["acc.col.float", 1], ["acc.col.ops", 1], ["acc.col.cashSales", 1], ["acc.col.cardSales", 1],
    ["acc.col.topups", 1], ["acc.col.counted", 1], ["acc.col.expected", 1], ["acc.col.diff"],
    ["acc.col.z"], ["acc.col.head"]];
  const opt = (c, cur) => (c === null ? "—" : money(c, cur));
  const rows = r.sessions.map((s) => h("tr", { "data-testid": "register-session" },
    h("td", {}, `#${s.register_session_id}`), h("td", {}, `${s.point_of_sale} · ${s.register}`),
    h("td", {}, s.cashier), h("td", {}, when(s.opened_at)), num(money(s.float_cents, s.currency)),
    num(money(s.operations_cents, s.currency)),
    num(money(s.sales_cash_cents - s.refunds_cash_cents, s.currency)),
    num(money(s.sales_card_cents - s.refunds_card_cents, s.currency)),
    num(money(s.topups_cash_cents + s.topups_card_cents, s.currency)),
    num(opt(s.counted_cents, s.currency)), num(opt(s.expected_cents, s.currency)),
    h("td", {}, difference(s)), h("td", {}, s.z_number ?? "—"),
    h("td", {}, s.z_hash ? h("code", { title: s.z_hash }, s.z_hash.slice(0, 12)) : "—")));
  table("registers-table", heads, rows);
}

/** Offer in the selects the points of sale, registers and cashiers the period shows. */
function offerChoices() {
  const seen = { point_of_sale_id: new Map(), register_id: new Map(), cashier_id: new Map() };
  for (const s of state.registers?.sessions || []) {
    seen.point_of_sale_id.set(s.point_of_sale_id, s.point_of_sale);
    seen.register_id.set(s.register_id, `${s.point_of_sale} · ${s.register}`);
    seen.cashier_id.set(s.cashier_id, s.cashier);
  }
  for (const d of state.accounting?.by_day || []) {
    if (d.point_of_sale_id) seen.point_of_sale_id.set(d.point_of_sale_id, d.point_of_sale);
  }
  for (const [name, found] of Object.entries(seen)) {
    const select = $(`f-${name}`);
    const keep = select.value;
    for (const o of [...select.options].slice(1)) if (!found.has(Number(o.value))) o.remove();
    const have = new Set([...select.options].map((o) => o.value));
    for (const [id, label] of found) {
      if (!have.has(String(id))) select.append(h("option", { value: id }, label));
    }
    select.value = keep;
  }
}

// Each load has a number: an answer that comes back after a newer load began (a slow
// unfiltered statement overtaken by the filtered one the user asked for next) is dropped.
let generation = 0;

async function loadSales(mine = generation) {
  const params = new URLSearchParams(state.params);
  params.set("limit", String(PAGE));
  params.set("offset", String(state.offset));
  const sales = await api("GET", `/api/statements/sales?${params}`);
  if (mine !== generation) return;
  state.sales = sales;
  renderSales();
}

async function load() {
  const mine = ++generation;
  state.params = readParams();
  setDownloads();
  $("acc-period").textContent = t("acc.period",
    { from: day(state.params.get("from")), to: day(state.params.get("to")), tz: TZ });
  try {
    const [, accounting, registers] = await Promise.all([
      loadSales(mine),
      api("GET", `/api/statements/accounting?${state.params}`),
      api("GET", `/api/statements/registers?${only(state.params, REGISTER_FILTERS)}&limit=500`),
    ]);
    if (mine !== generation) return;
    Object.assign(state, { accounting, registers });
    renderAccounting();
    renderRegisters();
    offerChoices();
  } catch (err) {
    if (mine === generation) notify(errorText(err));
  }
}

function renderAll() {
  renderSales();
  renderAccounting();
  renderRegisters();
  renderJobs();
}

const user = await requireSession(["accounting.read"]);
if (user) {
  const today = new Date();
  const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  $("f-to").value = iso(today);
  $("f-from").value = iso(new Date(today.getFullYear(), today.getMonth(), 1));
  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    state.offset = 0;
    load();
  });
  const page = (delta) => {
    state.offset = Math.max(0, state.offset + delta);
    loadSales().catch((err) => notify(errorText(err)));
  };
  $("prev").addEventListener("click", () => page(-PAGE));
  $("next").addEventListener("click", () => page(PAGE));
  i18n.addEventListener("languagechange", renderAll);
  state.refunds = can(user, "refund.any");
  startExports(user, () => state.params || readParams());
  await load();
}
