// The e-shop's small helpers: the DOM builder `h`, money, countdown, day and time labels,
// whether a session is on sale, and the message box (#messages). No state of the shop here.

import { locale, t as tr } from "./i18n.js";
import "./shop-text.js";

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

export function money(cents, currency = "EUR") {
  return new Intl.NumberFormat(locale(), { style: "currency", currency }).format(cents / 100);
}

export function clock(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

export function dayKey(date) {
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}

export function dayLabel(date) {
  const today = new Date();
  const tomorrow = new Date(today.getFullYear(), today.getMonth(), today.getDate() + 1);
  if (dayKey(date) === dayKey(today)) return tr("shop.today");
  if (dayKey(date) === dayKey(tomorrow)) return tr("shop.tomorrow");
  return date.toLocaleDateString(locale(), { weekday: "long", day: "numeric", month: "long" });
}

export function timeLabel(date) {
  return date.toLocaleTimeString(locale(), { hour: "2-digit", minute: "2-digit" });
}

/** Whether the shop sells this session now: sales open, and not started (unless the organiser
 * sells online after the start: 409 session_started otherwise). */
export function onSale(s) {
  return s.sales_open && (s.sell_online_after_start || new Date(s.starts_at) > new Date());
}

// -- messages -----------------------------------------------------------------------------------

export function showMessage(text, kind = "error", timeout = kind === "error" ? 9000 : 5000) {
  const box = $("messages");
  const close = h("button", { type: "button", class: "msg-close", "aria-label": tr("shop.dismiss") }, "×");
  const msg = h("div", {
    class: `msg msg-${kind}`, role: kind === "error" ? "alert" : "status",
    "data-testid": "message", "data-kind": kind,
  }, h("span", {}, text), close);
  close.addEventListener("click", () => msg.remove());
  box.append(msg);
  while (box.children.length > 3) box.firstElementChild.remove();
  if (timeout) setTimeout(() => msg.remove(), timeout);
}

export function clearMessages() {
  $("messages").replaceChildren();
}
