// The holder's wallet page (public, no sign-in): the code of their ticket or pass is the key.
// It comes in the URL fragment (`/wallet.html#code=…`, never the query string, so it stays out
// of server logs and Referer headers), or is scanned (camera) or typed. Shows the holder,
// the balance and the last movements (POST /api/wallet, the code in the body), refreshed by
// a button and every 10 seconds while the page is in view. French or English.

import { h } from "./dom.js";
import { applyTranslations, languageSwitcher, locale, register, t } from "./i18n.js";
import { money } from "./pos-util.js";
import { cameraSupport, CameraScanner } from "./scanner-camera.js";
import { movementName, refusalText, statusText } from "./wallet-text.js";

register({
  fr: {
    "wp.title": "Mon porte-monnaie",
    "wp.ask": "Votre billet ou abonnement",
    "wp.code": "Code du billet ou de l'abonnement",
    "wp.codeHelp": "Le code imprimé sous le QR code, ou scannez-le avec la caméra.",
    "wp.show": "Voir le solde",
    "wp.camera": "Scanner avec la caméra",
    "wp.stopCamera": "Arrêter la caméra",
    "wp.cameraOff": "Caméra indisponible : {error}",
    "wp.holder": "Titulaire",
    "wp.noName": "(sans nom)",
    "wp.balance": "Solde",
    "wp.status": "État : {status}",
    "wp.refresh": "Actualiser",
    "wp.updated": "Mis à jour à {time}",
    "wp.history": "Derniers mouvements",
    "wp.noHistory": "Aucun mouvement pour l'instant.",
    "wp.after": "solde après : {balance}",
    "wp.other": "Un autre billet",
    "wp.network": "Le serveur ne répond pas : le solde affiché peut ne plus être à jour.",
    "wp.none": "Ce porte-monnaie n'a pas encore été rechargé : rechargez-le à une caisse du festival.",
  },
  en: {
    "wp.title": "My wallet",
    "wp.ask": "Your ticket or pass",
    "wp.code": "Ticket or pass code",
    "wp.codeHelp": "The code printed under the QR code, or scan it with the camera.",
    "wp.show": "Show the balance",
    "wp.camera": "Scan with the camera",
    "wp.stopCamera": "Stop the camera",
    "wp.cameraOff": "Camera unavailable: {error}",
    "wp.holder": "Holder",
    "wp.noName": "(no name)",
    "wp.balance": "Balance",
    "wp.status": "Status: {status}",
    "wp.refresh": "Refresh",
    "wp.updated": "Updated at {time}",
    "wp.history": "Last movements",
    "wp.noHistory": "No movement yet.",
    "wp.after": "balance after: {balance}",
    "wp.other": "Another ticket",
    "wp.network": "The server does not answer: the balance shown may be out of date.",
    "wp.none": "This wallet has not been topped up yet: top it up at a festival cash desk.",
  },
});

const REFRESH_MS = 10_000;
const $ = (id) => document.getElementById(id);
let code = new URLSearchParams(window.location.hash.slice(1)).get("code");
let wallet = null;
let updated = null;
let camera = null;

/** POST /api/wallet without cookies: the page needs no sign-in, and sends none. */
async function look(c) {
  let response;
  try {
    response = await fetch("/api/wallet", {
      method: "POST", credentials: "omit", cache: "no-store",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ code: c }),
    });
  } catch {
    throw { code: "network", message: t("wp.network") };
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const error = body?.error || { code: `http_${response.status}` };
    throw { code: error.code, message: error.message || error.code, details: error };
  }
  return body;
}

function renderAsk() {
  const input = h("input", { id: "wp-code", type: "text", autocomplete: "off", autocapitalize: "off",
    spellcheck: "false", "data-testid": "wallet-code", "aria-describedby": "wp-code-help" });
  const video = h("video", { class: "wp-camera", playsinline: true, muted: true, hidden: true });
  const cam = h("button", { type: "button", class: "btn", hidden: true, "aria-pressed": "false",
    "data-testid": "wallet-camera", onclick: () => toggleCamera(video, cam) }, t("wp.camera"));
  cameraSupport().then((ok) => { cam.hidden = !ok; });
  $("wallet-ask").replaceChildren(
    h("h2", { id: "wp-ask-title" }, t("wp.ask")),
    h("form", { class: "wp-form", onsubmit: (e) => {
      e.preventDefault();
      const text = input.value.trim();
      if (text) open(text);
    } },
    h("label", { for: "wp-code" }, t("wp.code")),
    h("div", { class: "wp-row" }, input,
      h("button", { type: "submit", class: "btn btn-primary", "data-testid": "wallet-show" }, t("wp.show")), cam),
    h("p", { id: "wp-code-help", class: "small muted" }, t("wp.codeHelp")), video));
  $("wallet-ask").hidden = Boolean(code && wallet);
}

function renderWallet() {
  const view = $("wallet-view");
  if (!wallet) {
    view.hidden = true;
    return;
  }
  const cur = wallet.currency || "EUR";
  const moves = wallet.history || [];
  view.hidden = false;
  view.replaceChildren(
    h("div", { class: "wp-head" },
      h("p", {}, h("span", { class: "muted" }, `${t("wp.holder")} `),
        h("strong", { "data-testid": "wallet-holder" }, wallet.holder.name || t("wp.noName"))),
      h("button", { type: "button", class: "btn btn-small", "data-testid": "wallet-refresh",
        onclick: () => refresh() }, `↻ ${t("wp.refresh")}`)),
    h("p", { class: "muted", id: "wp-balance-label" }, t("wp.balance")),
    h("p", { class: "wp-balance", "data-testid": "wallet-balance", "aria-labelledby": "wp-balance-label",
      "data-cents": wallet.balance_cents }, money(wallet.balance_cents, cur)),
    h("p", { class: "wp-status", "data-testid": "wallet-status", "data-status": wallet.status },
      wallet.status === "none" ? t("wp.none") : t("wp.status", { status: statusText(wallet.status) })),
    h("p", { class: "wp-updated", "data-testid": "wallet-updated" },
      updated ? t("wp.updated", { time: updated.toLocaleTimeString(locale()) }) : ""),
    h("h2", {}, t("wp.history")),
    moves.length ? h("ol", { class: "wp-history", "data-testid": "wallet-history" }, moves.map((m) => h("li", {
      class: "wp-move", "data-testid": "wallet-move", "data-kind": m.kind, "data-sign": m.amount_cents < 0 ? "out" : "in",
    },
    h("span", {}, h("strong", {}, movementName(m.kind)), m.point_of_sale ? ` · ${m.point_of_sale}` : "",
      m.offline ? ` (${t("wal.offlineMark")})` : ""),
    h("span", { class: "num", "data-testid": "wallet-move-amount" },
      `${m.amount_cents < 0 ? "−" : "+"}${money(Math.abs(m.amount_cents), cur)}`),
    h("span", { class: "small" }, new Date(m.at).toLocaleString(locale(), {
      day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" })),
    h("span", { class: "small" }, t("wp.after", { balance: money(m.balance_cents, cur) })))))
      : h("p", { class: "muted" }, t("wp.noHistory")),
    h("p", {}, h("button", { type: "button", class: "btn", "data-testid": "wallet-other", onclick: () => {
      code = null;
      wallet = null;
      history.replaceState(null, "", window.location.pathname);
      render();
      $("wp-code")?.focus();
    } }, t("wp.other"))));
}

function render() {
  renderAsk();
  renderWallet();
}

function notify(text) {
  const msg = h("p", { class: "banner", role: "alert", "data-testid": "message" }, text);
  $("messages").replaceChildren(msg);
}

async function open(text) {
  code = text;
  // the code goes in the fragment (kept by a reload or a bookmark, never sent to the server)
  history.replaceState(null, "", `#code=${encodeURIComponent(code)}`);
  await refresh();
  if (!wallet) {
    code = null;
    history.replaceState(null, "", window.location.pathname);
  }
  render();
}

async function refresh() {
  if (!code) return;
  try {
    wallet = await look(code);
    updated = new Date();
    $("messages").replaceChildren();
  } catch (err) {
    if (err.code === "network" || String(err.code).startsWith("http_5")) {
      notify(t("wp.network"));
    } else {
      wallet = null;
      notify(refusalText(err));
    }
  }
  render();
}

async function toggleCamera(video, button) {
  if (camera?.running) {
    camera.stop();
    video.hidden = true;
    button.setAttribute("aria-pressed", "false");
    button.textContent = t("wp.camera");
    return;
  }
  camera = camera || new CameraScanner(video, (text) => {
    camera.stop();
    video.hidden = true;
    open(text);
  });
  try {
    video.hidden = false;
    await camera.start();
    button.setAttribute("aria-pressed", "true");
    button.textContent = t("wp.stopCamera");
  } catch (err) {
    video.hidden = true;
    notify(t("wp.cameraOff", { error: err.message }));
  }
}

const tools = h("div", { class: "topbar-tools" }, languageSwitcher(() => render()));
document.querySelector(".topbar").append(tools);
applyTranslations(document);
window.addEventListener("hashchange", () => {
  const next = new URLSearchParams(window.location.hash.slice(1)).get("code");
  if (next && next !== code) open(next);
});
setInterval(() => {
  if (code && document.visibilityState === "visible") refresh();
}, REFRESH_MS);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") refresh();
});
render();
if (code) open(code);
