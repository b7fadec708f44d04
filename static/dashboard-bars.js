// The organiser's live bar sales (channel bars:0): wallet debits per bar over the last
// minute, quarter of an hour and hour, with a per-minute chart of the last hour. The
// figures are the ledger's (a trigger keeps them in each debit's transaction).

import { h } from "./dom.js";
import { i18n, locale, register, t } from "./i18n.js";
import { PROTOCOL } from "./protocol.js";

register({
  fr: {
    "bars.title": "Bars (porte-monnaie)",
    "bars.none": "Aucune vente aux bars depuis une heure.",
    "bars.bar": "Bar",
    "bars.lastMinute": "Dernière minute",
    "bars.quarter": "15 min",
    "bars.hour": "1 heure",
    "bars.chart": "{bar} : {amount} sur la dernière heure, {peak} au plus par minute",
    "bars.sales": "{n} ventes",
  },
  en: {
    "bars.title": "Bars (wallet)",
    "bars.none": "No bar sales in the last hour.",
    "bars.bar": "Bar",
    "bars.lastMinute": "Last minute",
    "bars.quarter": "15 min",
    "bars.hour": "1 hour",
    "bars.chart": "{bar}: {amount} over the last hour, at most {peak} a minute",
    "bars.sales": "{n} sales",
  },
});

const MINUTE = 60000;
const money = (cents, currency) =>
  new Intl.NumberFormat(locale(), { style: "currency", currency }).format(cents / 100);

/** Mount the bar sales panel in `root` and subscribe on `link`; returns {close}. */
export function mountBars(root, link) {
  const rows = new Map(); // "pos|minute|currency" -> row
  const body = h("div", { class: "bars-body", "data-testid": "bar-sales" });
  const title = h("h2", {}, t("bars.title"));
  root.replaceChildren(title, body);
  root.hidden = false;
  const relabel = () => {
    title.textContent = t("bars.title");
    render();
  };
  i18n.addEventListener("languagechange", relabel);

  function onFrame(m) {
    if (m.type !== PROTOCOL.SERVER.BAR_SALES) return;
    if (m.full) rows.clear();
    for (const r of m.rows) rows.set(`${r.point_of_sale_id}|${r.minute}|${r.currency}`, r);
    render();
  }

  function render() {
    const now = Date.now();
    const bars = new Map();
    for (const r of rows.values()) {
      const at = Date.parse(r.minute);
      if (now - at > 60 * MINUTE) continue;
      const key = `${r.point_of_sale_id}|${r.currency}`;
      const bar = bars.get(key) || { name: r.bar, currency: r.currency, minutes: new Map() };
      bar.minutes.set(at, r);
      bars.set(key, bar);
    }
    if (!bars.size) {
      body.replaceChildren(h("p", { class: "muted" }, t("bars.none")));
      return;
    }
    const sum = (bar, within) => {
      let n = 0;
      let cents = 0;
      for (const [at, r] of bar.minutes) {
        if (now - at <= within) {
          n += r.debits;
          cents += r.amount_cents;
        }
      }
      return { n, cents };
    };
    const cell = (bar, within) => {
      const s = sum(bar, within);
      return h("td", { class: "num" }, money(s.cents, bar.currency),
        h("span", { class: "muted small" }, ` · ${t("bars.sales", { n: s.n })}`));
    };
    const table = h("table", { class: "bars-table" },
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, t("bars.bar")),
        h("th", { scope: "col" }, t("bars.lastMinute")),
        h("th", { scope: "col" }, t("bars.quarter")),
        h("th", { scope: "col" }, t("bars.hour")),
        h("th", { scope: "col" }, ""))),
      h("tbody", {}, ...[...bars.values()].sort((a, b) => a.name.localeCompare(b.name)).map((bar) =>
        h("tr", { "data-testid": "bar-row", "data-bar": bar.name },
          h("th", { scope: "row" }, bar.name),
          cell(bar, 2 * MINUTE),
          cell(bar, 15 * MINUTE),
          cell(bar, 60 * MINUTE),
          h("td", {}, chart(bar, now))))));
    body.replaceChildren(table);
  }

  function chart(bar, now) {
    const start = Math.floor(now / MINUTE) * MINUTE - 59 * MINUTE;
    const values = [];
    for (let i = 0; i < 60; i++) values.push(bar.minutes.get(start + i * MINUTE)?.amount_cents || 0);
    const peak = Math.max(1, ...values);
    const total = values.reduce((a, b) => a + b, 0);
    const label = t("bars.chart", {
      bar: bar.name, amount: money(total, bar.currency), peak: money(peak, bar.currency),
    });
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 120 24");
    svg.setAttribute("class", "bars-chart");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
    values.forEach((v, i) => {
      const height = Math.round((v / peak) * 22);
      if (!height) return;
      const rect = document.createElementNS(ns, "rect");
      rect.setAttribute("x", String(i * 2));
      rect.setAttribute("y", String(24 - height));
      rect.setAttribute("width", "1.6");
      rect.setAttribute("height", String(height));
      svg.append(rect);
    });
    return svg;
  }

  const sub = link.subscribe(`${PROTOCOL.CHANNEL.BARS}:0`, onFrame);
  const timer = setInterval(render, 30000); // minutes age out of the windows
  return {
    close() {
      sub.close();
      clearInterval(timer);
      i18n.removeEventListener("languagechange", relabel);
    },
  };
}
