// Small helpers of the cash desk page: money in integer cents, amounts typed by a cashier,
// euro denominations, dates, keys, a blind count form by denomination.

import { h } from "./dom.js";
import { locale, register, t } from "./i18n.js";

register({
  fr: {
    "count.notes": "Billets",
    "count.coins": "Pièces",
    "count.total": "Total compté",
    "count.of": "Nombre de {value}",
  },
  en: {
    "count.notes": "Notes",
    "count.coins": "Coins",
    "count.total": "Total counted",
    "count.of": "Number of {value}",
  },
});

/** The euro's notes and coins, in cents (the server accepts any positive cent value). */
export const NOTES = [50000, 20000, 10000, 5000, 2000, 1000, 500];
export const COINS = [200, 100, 50, 20, 10, 5, 2, 1];

export function money(cents, currency = "EUR") {
  return new Intl.NumberFormat(locale(), { style: "currency", currency }).format(cents / 100);
}

/** With its sign always shown: "+2,00 €", "−1,50 €", "0,00 €". */
export function signedMoney(cents, currency = "EUR") {
  const text = money(Math.abs(cents), currency);
  if (cents > 0) return `+${text}`;
  if (cents < 0) return `−${text}`;
  return text;
}

/** "12", "12,5", "12.50", "12 €" → cents; null when it is not an amount. */
export function parseAmount(text) {
  const clean = String(text ?? "").replace(/[\s\u00a0€]/g, "").replace(",", ".");
  if (!/^\d{1,7}(\.\d{0,2})?$/.test(clean)) return null;
  const [whole, frac = ""] = clean.split(".");
  return Number(whole) * 100 + Number((frac + "00").slice(0, 2));
}

/** Cents as a cashier types them back into an input ("12,50" / "12.50"). */
export function amountText(cents) {
  const sep = locale().startsWith("fr") ? "," : ".";
  return `${Math.floor(cents / 100)}${sep}${String(cents % 100).padStart(2, "0")}`;
}

export function dateTime(iso) {
  return new Date(iso).toLocaleString(locale(), {
    day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
  });
}

export function timeOf(iso) {
  return new Date(iso).toLocaleTimeString(locale(), { hour: "2-digit", minute: "2-digit" });
}

export function clock(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

export function randomKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function percent(bp) {
  return `${new Intl.NumberFormat(locale(), { maximumFractionDigits: 2 }).format(bp / 100)} %`;
}

/**
 * A count of cash by denomination: one number input per note and coin and the total, kept
 * up to date. `name` prefixes the test ids (`<name>-<cents>`, `<name>-total`).
 * Returns {element, counted(), total(), reset()}; counted() is {"<cents>": n} of the
 * denominations with a count.
 */
export function countForm(name, currency = "EUR") {
  const inputs = new Map();
  const total = h("output", { class: "count-total-value", "data-testid": `${name}-total`,
    "aria-live": "polite" }, money(0, currency));
  const recompute = () => {
    total.textContent = money(sum(), currency);
  };
  const sum = () => {
    let cents = 0;
    for (const [value, input] of inputs) cents += value * (Number.parseInt(input.value, 10) || 0);
    return cents;
  };
  const group = (key, values) => h("fieldset", { class: "count-group" },
    h("legend", {}, t(key)),
    h("div", { class: "count-grid" }, values.map((value) => {
      const input = h("input", {
        type: "number", inputmode: "numeric", min: "0", max: "100000", step: "1",
        value: "", placeholder: "0", "data-testid": `${name}-${value}`,
        "aria-label": t("count.of", { value: money(value, currency) }),
        oninput: recompute,
      });
      inputs.set(value, input);
      return h("label", { class: "count-cell" },
        h("span", { class: "count-face", "aria-hidden": "true" }, money(value, currency)), input);
    })));
  const element = h("div", { class: "count-form" },
    group("count.notes", NOTES), group("count.coins", COINS),
    h("p", { class: "count-total" }, h("span", {}, t("count.total")), " ", total));
  return {
    element,
    total: sum,
    counted() {
      const out = {};
      for (const [value, input] of inputs) {
        const n = Number.parseInt(input.value, 10) || 0;
        if (n > 0) out[String(value)] = n;
      }
      return out;
    },
    reset() {
      for (const input of inputs.values()) input.value = "";
      recompute();
    },
  };
}
