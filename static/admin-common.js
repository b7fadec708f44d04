// What the catalogue back office pages (admin-events, admin-rooms) share on top of
// session.js and i18n.js: their words (catalog-text.js), API refusals shown as messages,
// money and dates in the page's language, and <input type="datetime-local"> values.

import "./catalog-text.js";
import { locale } from "./i18n.js";
import { errorText, notify } from "./session.js";

export const $ = (id) => document.getElementById(id);

/** Run ``action``; a refusal of the API is shown as its code and message. */
export async function attempt(action) {
  try {
    return await action();
  } catch (err) {
    notify(errorText(err));
    return undefined;
  }
}

export function money(cents, currency = "EUR") {
  return new Intl.NumberFormat(locale(), { style: "currency", currency }).format(cents / 100);
}

export function when(iso) {
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short" })
    .format(new Date(iso));
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
