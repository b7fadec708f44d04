// The bar (permission `wallet.debit` or `bar.sell`), for a phone or a tablet: pick the bar
// (GET /api/bars, remembered on the device), tap its articles (big buttons by family) or key
// in a free amount, scan the customer's ticket or pass (wedge scanner into the code field,
// or the camera), see the holder and the balance (POST /api/wallet), confirm: POST
// /api/wallets/debits, the new balance in big figures, or why it was refused in words.
//
// Through a network drop (docs/wallet.md): the page holds a signed offline allowance fetched
// while online (POST /api/bars/{id}/allowance, for this device's random id); offline, a debit
// within it (per wallet and period, counted on the device) is queued in localStorage with its
// idempotency key (bar-queue.js) and shown as queued; back online the queue is uploaded
// (POST /api/bars/{id}/offline-debits) and the results shown. The connection badge says live,
// reconnecting or offline in words.

import "./bar-text.js";
import {
  allowanceDue, allowanceFor, deviceId, enqueue, offlineLeft, queued, saveAllowance, upload,
} from "./bar-queue.js";
import { h } from "./dom.js";
import { i18n, locale, t } from "./i18n.js";
import { money, parseAmount, percent, randomKey, timeOf } from "./pos-util.js";
import { cameraSupport, CameraScanner } from "./scanner-camera.js";
import { addConnectionIndicator, api, errorText, notify, requireSession } from "./session.js";
import { refusalText, statusText } from "./wallet-text.js";

const BAR_KEY = "guichet.bar.register";
const PROBE_MS = 2500;
const $ = (id) => document.getElementById(id);

/** The API's reachability as the connection badge shows it: open, reconnecting, closed. */
class Reach extends EventTarget {
  constructor() {
    super();
    this.status = navigator.onLine ? "open" : "closed";
    this.failures = 0;
  }

  set(status) {
    if (status === this.status) return;
    this.status = status;
    this.dispatchEvent(new Event("status"));
  }

  failed() {
    this.failures += 1;
    this.set(!navigator.onLine || this.failures > 1 ? "closed" : "reconnecting");
  }

  ok() {
    this.failures = 0;
    this.set("open");
  }
}

/** A call that did not reach the server (or the server is down), rather than a refusal. */
const unreachable = (err) => err?.code === "network" || (err?.status >= 500 && err?.status <= 504);

const user = await requireSession(["wallet.debit", "bar.sell"]);
if (user) boot(user);

function boot(me) {
  const reach = new Reach();
  addConnectionIndicator(reach);
  const device = deviceId();
  let bars = [];
  let bar = null;
  let camera = null;
  const state = {
    lines: new Map(), // article id -> quantity
    free: null, // {cents, tax_rate_bp}
    code: null,
    wallet: null, // POST /api/wallet's answer, or {offline: true}
    key: randomKey(),
    busy: false,
  };
  const uploads = [];

  // -- connection ------------------------------------------------------------------------------
  async function probe() {
    try {
      const r = await fetch("/api/auth/me", { cache: "no-store", credentials: "same-origin" });
      if (r.status >= 500) throw new Error(String(r.status));
      reach.ok();
    } catch {
      reach.failed();
    }
  }
  setInterval(() => {
    if (reach.status !== "open") probe();
    else if (queued().length) flush();
  }, PROBE_MS);
  window.addEventListener("online", probe);
  window.addEventListener("offline", () => reach.set("closed"));
  reach.addEventListener("status", () => {
    if (reach.status === "open") {
      flush();
      fetchAllowance();
    }
  });

  async function call(method, path, body) {
    try {
      const out = await api(method, path, body);
      reach.ok();
      return out;
    } catch (err) {
      if (unreachable(err)) reach.failed();
      throw err;
    }
  }

  // -- bars and the allowance ------------------------------------------------------------------
  async function loadBars() {
    try {
      bars = (await call("GET", "/api/bars")).bars;
    } catch (err) {
      notify(errorText(err));
      bars = [];
    }
    let saved = null;
    try {
      saved = Number(localStorage.getItem(BAR_KEY));
    } catch {
      saved = null;
    }
    const known = bars.find((b) => b.register_id === saved) || (bars.length === 1 ? bars[0] : null);
    if (known) useBar(known);
    else showSetup();
  }

  function showSetup() {
    closeCamera();
    $("bar-desk").hidden = true;
    const root = $("bar-setup");
    root.hidden = false;
    if (!bars.length) {
      root.replaceChildren(h("h2", {}, t("bar.pick")), h("p", { "data-testid": "no-bars" }, t("bar.none")));
      return;
    }
    const select = h("select", { id: "bar-choice", "data-testid": "bar-choice" },
      bars.map((b) => h("option", { value: b.register_id, selected: b.register_id === bar?.register_id },
        b.name === b.point_of_sale ? b.name : `${b.point_of_sale} · ${b.name}`)));
    root.replaceChildren(h("form", { class: "stack", onsubmit: (e) => {
      e.preventDefault();
      useBar(bars.find((b) => b.register_id === Number(select.value)));
    } },
    h("h2", {}, t("bar.pick")),
    h("label", {}, h("span", {}, t("bar.pickLabel")), select),
    h("button", { type: "submit", class: "btn btn-primary", "data-testid": "bar-go" }, t("bar.pickGo"))));
  }

  function useBar(chosen) {
    bar = chosen;
    try {
      localStorage.setItem(BAR_KEY, String(bar.register_id));
    } catch {
      // private mode: the choice lasts for this page
    }
    resetSale();
    $("bar-setup").hidden = true;
    $("bar-desk").hidden = false;
    renderDesk();
    fetchAllowance();
    flush();
  }

  async function fetchAllowance() {
    if (!bar || reach.status !== "open" || !allowanceDue(bar.register_id, me.id)) {
      renderAllowance();
      return;
    }
    try {
      saveAllowance(me.id, await call("POST", `/api/bars/${bar.register_id}/allowance`, { device }));
    } catch (err) {
      if (!unreachable(err)) notify(errorText(err));
    }
    renderAllowance();
  }

  // -- the desk ----------------------------------------------------------------------------------
  const el = {};

  function renderDesk() {
    const currency = bar.currency;
    el.ticket = h("ul", { class: "bar-lines", "data-testid": "bar-ticket" });
    el.total = h("strong", { class: "big-figure", "data-testid": "bar-total" });
    el.code = h("input", { id: "bar-code", type: "text", autocomplete: "off", autocapitalize: "off",
      spellcheck: "false", "data-testid": "bar-code", "aria-describedby": "bar-code-help" });
    el.holder = h("div", { class: "bar-holder", "data-testid": "bar-holder", "aria-live": "polite" });
    el.confirm = h("button", { type: "button", class: "btn btn-primary btn-big", "data-testid": "bar-confirm",
      onclick: confirm });
    el.result = h("div", { class: "bar-result", "data-testid": "bar-result", role: "status", hidden: true });
    el.allowance = h("p", { class: "small muted", "data-testid": "allowance" });
    el.queue = h("section", { class: "bar-queue", "aria-labelledby": "bar-queue-title" });
    const video = h("video", { class: "bar-camera", playsinline: true, muted: true, hidden: true });
    el.cameraButton = h("button", { type: "button", class: "btn", hidden: true, "aria-pressed": "false",
      "data-testid": "bar-camera", onclick: () => toggleCamera(video) }, `⌁ ${t("bar.useCamera")}`);
    cameraSupport().then((ok) => { el.cameraButton.hidden = !ok; });

    const families = new Map();
    for (const a of bar.articles) families.set(a.family || "—", [...(families.get(a.family || "—") || []), a]);
    const grid = bar.articles.length ? [...families].map(([family, list]) => h("section",
      { class: "article-family" }, h("h3", {}, family), h("div", { class: "bar-buttons" }, list.map((a) => {
        const out = a.stock !== null && a.stock !== undefined && a.stock <= 0;
        return h("button", { type: "button", class: "btn bar-article", "data-testid": "bar-article",
          "data-article-id": a.id, disabled: out, "aria-label": t("bar.add", { name: a.name, price: money(a.price_cents, currency) }),
          onclick: () => addArticle(a) },
        h("span", { class: "bar-article-name" }, a.name),
        h("span", { class: "bar-article-price" }, out ? t("bar.out") : money(a.price_cents, currency)));
      }))))
      : [h("p", { class: "muted" }, t("bar.noArticles"))];

    const change = h("button", { type: "button", class: "btn btn-small", "data-testid": "bar-change",
      onclick: showSetup }, t("bar.change"));
    $("bar-desk").replaceChildren(
      h("div", { class: "bar-head" },
        h("h2", { "data-testid": "bar-name" }, bar.name === bar.point_of_sale ? bar.name : `${bar.point_of_sale} · ${bar.name}`),
        change),
      h("div", { class: "bar-layout" },
        h("section", { class: "bar-articles", "aria-labelledby": "bar-articles-title" },
          h("h2", { id: "bar-articles-title", class: "sr-only" }, t("bar.articles")), ...grid, keypad()),
        h("section", { class: "bar-sale card", "aria-labelledby": "bar-ticket-title" },
          h("div", { class: "record-head" }, h("h2", { id: "bar-ticket-title" }, t("bar.ticket")),
            h("button", { type: "button", class: "btn btn-small", "data-testid": "bar-clear",
              onclick: () => {
                resetSale();
                el.result.hidden = true;
              } }, t("bar.clear"))),
          el.ticket,
          h("p", { class: "bar-total" }, h("span", {}, `${t("bar.total")} `), el.total),
          h("form", { class: "bar-scan", onsubmit: (e) => {
            e.preventDefault();
            const text = el.code.value.trim();
            el.code.value = "";
            if (text) lookUp(text);
          } },
          h("label", { for: "bar-code" }, t("bar.code")),
          h("div", { class: "bar-scan-row" }, el.code,
            h("button", { type: "submit", class: "btn", "data-testid": "bar-read" }, t("bar.read")), el.cameraButton),
          h("p", { id: "bar-code-help", class: "small muted" }, t("bar.codeHelp")), video),
          el.holder, el.confirm, el.result, el.allowance)),
      el.queue);
    renderSale();
    renderAllowance();
    renderQueue();
  }

  function keypad() {
    const rates = [...new Set([0, ...bar.articles.map((a) => a.tax_rate_bp)])].sort((a, b) => a - b);
    const common = bar.articles[0]?.tax_rate_bp ?? 0;
    const amount = h("input", { id: "bar-free", type: "text", inputmode: "decimal", "data-testid": "bar-free",
      autocomplete: "off" });
    const rate = h("select", { id: "bar-free-rate", "data-testid": "bar-free-rate" },
      rates.map((bp) => h("option", { value: bp, selected: bp === common }, percent(bp))));
    const key = (label, text = label, extra = {}) => h("button", { type: "button", class: "btn bar-key", ...extra,
      onclick: () => {
        amount.value = text === "⌫" ? amount.value.slice(0, -1) : `${amount.value}${text}`;
      } }, label);
    const sep = locale().startsWith("fr") ? "," : ".";
    return h("details", { class: "bar-free" },
      h("summary", { "data-testid": "bar-free-open" }, t("bar.free")),
      h("form", { class: "bar-keypad-form", onsubmit: (e) => {
        e.preventDefault();
        const cents = parseAmount(amount.value);
        if (!cents) {
          notify(t("bar.badAmount"));
          return;
        }
        setFree(cents, Number(rate.value));
        amount.value = "";
      } },
      h("div", { class: "bar-free-fields" },
        h("label", { class: "field" }, h("span", {}, t("bar.freeAmount")), amount),
        h("label", { class: "field" }, h("span", {}, t("bar.freeRate")), rate)),
      h("div", { class: "bar-keypad", role: "group", "aria-label": t("bar.freeAmount") },
        ["1", "2", "3", "4", "5", "6", "7", "8", "9", sep, "0"].map((d) => key(d)),
        key("⌫", "⌫", { "aria-label": t("bar.backspace") })),
      h("button", { type: "submit", class: "btn btn-primary", "data-testid": "bar-free-add" }, t("bar.freeAdd"))));
  }

  // -- the sale ----------------------------------------------------------------------------------
  function total() {
    if (state.free) return state.free.cents;
    let sum = 0;
    for (const [id, n] of state.lines) sum += (bar.articles.find((a) => a.id === id)?.price_cents || 0) * n;
    return sum;
  }

  function addArticle(a) {
    if (state.free) {
      state.free = null;
      notify(t("bar.articlesReplace"), "success");
    }
    state.lines.set(a.id, (state.lines.get(a.id) || 0) + 1);
    el.result.hidden = true;
    renderSale();
  }

  function setFree(cents, rateBp) {
    if (state.lines.size) notify(t("bar.freeReplaces"), "success");
    state.lines.clear();
    state.free = { cents, tax_rate_bp: rateBp };
    el.result.hidden = true;
    renderSale();
  }

  function resetSale() {
    state.lines.clear();
    state.free = null;
    state.code = null;
    state.wallet = null;
    state.key = randomKey();
    if (el.ticket) renderSale();
  }

  function renderSale() {
    const cur = bar.currency;
    const items = state.free
      ? [h("li", { class: "bar-line", "data-testid": "bar-line" }, h("span", {}, `${t("bar.freeLine")} · ${percent(state.free.tax_rate_bp)}`),
        h("span", { class: "num" }, money(state.free.cents, cur)))]
      : [...state.lines].map(([id, n]) => {
        const a = bar.articles.find((x) => x.id === id);
        return h("li", { class: "bar-line", "data-testid": "bar-line", "data-article-id": id },
          h("span", {}, `${a.name} × ${n}`), h("span", { class: "num" }, money(a.price_cents * n, cur)),
          h("button", { type: "button", class: "btn btn-small", "aria-label": t("bar.remove", { name: a.name }),
            onclick: () => {
              if (n > 1) state.lines.set(id, n - 1);
              else state.lines.delete(id);
              renderSale();
            } }, "−"));
      });
    el.ticket.replaceChildren(...(items.length ? items : [h("li", { class: "muted" }, t("bar.empty"))]));
    el.total.textContent = money(total(), cur);
    renderHolder();
  }

  function renderHolder() {
    const w = state.wallet;
    const cur = bar.currency;
    el.confirm.disabled = state.busy || !w || !total() || (w && !w.offline && w.status !== "active");
    el.confirm.textContent = state.busy ? t("bar.paying")
      : total() ? t("bar.confirm", { amount: money(total(), cur) }) : t("bar.confirmIdle");
    if (!w) {
      el.holder.replaceChildren(h("p", { class: "muted" }, total() ? t("bar.needCode") : ""));
      delete el.holder.dataset.state;
      return;
    }
    if (w.loading) {
      el.holder.replaceChildren(h("p", { class: "muted" }, t("bar.looking")));
      return;
    }
    if (w.offline) {
      const left = offlineLeft(allowanceFor(bar.register_id, me.id), state.code);
      el.holder.dataset.state = "offline";
      el.holder.replaceChildren(h("p", { "data-testid": "holder-offline" }, `⚠ ${t("bar.offlineHolder", { left: money(left, cur) })}`));
      return;
    }
    const low = w.status === "active" && total() > w.balance_cents;
    el.holder.dataset.state = w.status !== "active" ? "refused" : low ? "low" : "ok";
    el.holder.replaceChildren(
      h("p", { class: "bar-holder-name" }, h("span", { class: "small muted" }, `${t("bar.holder")} `),
        h("strong", { "data-testid": "holder-name" }, w.holder.name || t("bar.noName"))),
      h("p", {}, h("span", { class: "small muted" }, `${t("bar.balance")} `),
        h("strong", { class: "big-figure", "data-testid": "holder-balance" }, money(w.balance_cents, w.currency || cur))),
      w.status !== "active" ? h("p", { class: "form-error", "data-testid": "holder-refusal" },
        w.status === "none" ? refusalText("no_wallet") : w.status === "blocked" ? refusalText("wallet_blocked")
          : `${t("bar.status")} : ${statusText(w.status)}`) : null,
      low ? h("p", { class: "form-error", "data-testid": "holder-refusal" },
        t("bar.tooLow", { balance: money(w.balance_cents, w.currency || cur) })) : null);
  }

  async function lookUp(code) {
    state.code = code;
    state.key = randomKey();
    el.result.hidden = true;
    if (reach.status !== "open") {
      state.wallet = { offline: true };
      renderHolder();
      return;
    }
    state.wallet = { loading: true };
    renderHolder();
    try {
      state.wallet = await call("POST", "/api/wallet", { code });
    } catch (err) {
      if (unreachable(err)) {
        state.wallet = { offline: true };
      } else {
        state.wallet = null;
        state.code = null;
        showResult("refused", refusalText(err, bar.currency));
      }
    }
    renderHolder();
  }

  function debitBody() {
    const body = { idempotency_key: state.key, code: state.code, register_id: bar.register_id };
    if (state.free) return { ...body, amount_cents: state.free.cents, tax_rate_bp: state.free.tax_rate_bp };
    return { ...body, articles: [...state.lines].map(([article_id, quantity]) => ({ article_id, quantity })) };
  }

  async function confirm() {
    if (state.busy) return;
    if (!total()) return notify(t("bar.needItems"));
    if (!state.code || !state.wallet) return notify(t("bar.needCode"));
    if (state.wallet.offline || reach.status !== "open") return queueOffline();
    state.busy = true;
    renderHolder();
    try {
      const done = await call("POST", "/api/wallets/debits", debitBody());
      const name = done.holder?.name || state.wallet.holder?.name || t("bar.noName");
      showResult("paid", t("bar.paid", { amount: money(done.amount_cents, bar.currency), name }),
        done.balance_cents);
      state.busy = false;
      resetSale();
    } catch (err) {
      state.busy = false;
      if (unreachable(err)) {
        queueOffline();
        return;
      }
      if (err.code === "insufficient_balance" && state.wallet && !state.wallet.offline) {
        state.wallet = { ...state.wallet, balance_cents: err.details.balance_cents ?? state.wallet.balance_cents };
      }
      state.key = randomKey();
      showResult("refused", refusalText(err, bar.currency));
      renderHolder();
    }
  }

  /** The debits a sale becomes offline: one per tax rate (offline debits carry an amount). */
  function offlineDebits(takenAt) {
    const byRate = new Map();
    if (state.free) byRate.set(state.free.tax_rate_bp, state.free.cents);
    for (const [id, n] of state.lines) {
      const a = bar.articles.find((x) => x.id === id);
      byRate.set(a.tax_rate_bp, (byRate.get(a.tax_rate_bp) || 0) + a.price_cents * n);
    }
    // the first part keeps the sale's key: if the online call went through after all, the
    // upload replays it instead of debiting twice
    return [...byRate].map(([rate, cents], i) => ({
      idempotency_key: i === 0 ? state.key : `${state.key}-${rate}`,
      amount_cents: cents, tax_rate_bp: rate, taken_at: takenAt,
    }));
  }

  function queueOffline() {
    const allowance = allowanceFor(bar.register_id, me.id);
    const cents = total();
    if (!allowance) {
      showResult("refused", t("bar.noAllowance"));
      renderHolder();
      return;
    }
    const left = offlineLeft(allowance, state.code);
    if (cents > left) {
      showResult("refused", t("bar.overAllowance", { left: money(left, bar.currency) }));
      renderHolder();
      return;
    }
    const label = state.free ? t("bar.freeLine")
      : [...state.lines].map(([id, n]) => `${bar.articles.find((a) => a.id === id)?.name} × ${n}`).join(", ");
    try {
      enqueue({ registerId: bar.register_id, allowance: allowance.token, code: state.code,
        debits: offlineDebits(new Date().toISOString()), total_cents: cents, currency: bar.currency, label });
    } catch {
      showResult("refused", t("bar.storageFull"));
      return;
    }
    showResult("queued", t("bar.queued", { amount: money(cents, bar.currency) }));
    resetSale();
    renderQueue();
  }

  function showResult(outcome, text, balance = null) {
    el.result.dataset.outcome = outcome;
    el.result.hidden = false;
    const icon = { paid: "✓", refused: "✕", queued: "⏳" }[outcome];
    el.result.replaceChildren(
      h("p", { class: "bar-result-text", "data-testid": "bar-result-text" },
        h("span", { "aria-hidden": "true" }, `${icon} `),
        outcome === "refused" ? h("strong", {}, `${t("bar.refused")} : `) : null, text),
      balance !== null ? h("p", { class: "change-banner" }, h("span", {}, t("bar.newBalance")), " ",
        h("strong", { class: "big-figure", "data-testid": "bar-new-balance" }, money(balance, bar.currency))) : null,
      h("button", { type: "button", class: "btn", "data-testid": "bar-next", onclick: () => {
        el.result.hidden = true;
        el.code.focus();
      } }, t("bar.next")));
  }

  // -- the offline queue -------------------------------------------------------------------------
  function renderAllowance() {
    if (!el.allowance || !bar) return;
    const a = allowanceFor(bar.register_id, me.id);
    el.allowance.textContent = a ? t("bar.allowance", {
      amount: money(a.per_wallet_cents, bar.currency), minutes: Math.round(a.period_s / 60),
      until: timeOf(a.expires_at),
    }) : t("bar.allowanceNone");
    el.allowance.dataset.state = a ? "held" : "none";
  }

  function renderQueue() {
    if (!el.queue) return;
    const list = queued();
    const count = h("p", { "data-testid": "queue-count", "data-count": list.length },
      list.length ? t("bar.queueCount", { n: list.length }) : t("bar.queueEmpty"));
    const send = h("button", { type: "button", class: "btn btn-small", "data-testid": "queue-send",
      hidden: !list.length, onclick: () => probe().then(flush) }, `↻ ${t("bar.send")}`);
    el.queue.replaceChildren(
      h("div", { class: "record-head" }, h("h2", { id: "bar-queue-title" }, t("bar.queue")), send),
      count,
      h("ul", { class: "records", "data-testid": "queued" }, list.map((s) => h("li",
        { class: "record", "data-testid": "queued-sale", "data-state": "queued" },
        h("span", { class: "tag" }, `⏳ ${t("bar.queuedItem")}`), " ", s.label, " · ",
        h("strong", {}, money(s.total_cents, s.currency)), " · ", timeOf(s.queued_at)))),
      h("h3", { hidden: !uploads.length }, t("bar.uploads")),
      h("ul", { class: "records", "data-testid": "uploads" }, uploads.slice(0, 20).map((r) => h("li",
        { class: "record", "data-testid": "upload-result", "data-outcome": r.outcome },
        h("span", { class: r.outcome === "refused" ? "tag tag-off" : "tag" },
          `${r.outcome === "refused" ? "✕" : "✓"} ${t(`bar.outcome.${r.outcome}`)}`), " ",
        r.sale.label, " · ", h("strong", {}, money(r.sale.total_cents, r.sale.currency)),
        r.holder ? ` · ${r.holder}` : "",
        r.balance_cents !== null && r.balance_cents !== undefined
          ? ` · ${t("bar.balance")} ${money(r.balance_cents, r.sale.currency)}` : "",
        r.overdraft ? h("span", { class: "small" }, ` (⚠ ${t("bar.overdraft")})`) : null,
        r.code ? h("span", { class: "small" }, ` · ${refusalText(r.code, r.sale.currency)}`) : null))));
  }

  async function flush() {
    if (!queued().length || reach.status !== "open") {
      renderQueue();
      return;
    }
    const { results, error } = await upload((path, body) => call("POST", path, body));
    uploads.unshift(...results);
    if (error && !unreachable(error)) notify(errorText(error));
    renderQueue();
  }

  // -- camera ------------------------------------------------------------------------------------
  async function toggleCamera(video) {
    if (camera?.running) {
      closeCamera();
      return;
    }
    camera = camera || new CameraScanner(video, (text) => lookUp(text));
    try {
      video.hidden = false;
      await camera.start();
      el.cameraButton.setAttribute("aria-pressed", "true");
      el.cameraButton.textContent = t("bar.stopCamera");
    } catch (err) {
      video.hidden = true;
      notify(t("bar.cameraOff", { error: err.message }));
    }
  }

  function closeCamera() {
    if (!camera?.running) return;
    camera.stop();
    camera.video.hidden = true;
    el.cameraButton.setAttribute("aria-pressed", "false");
    el.cameraButton.textContent = `⌁ ${t("bar.useCamera")}`;
  }

  window.addEventListener("storage", renderQueue);
  i18n.addEventListener("languagechange", () => {
    if (bar && !$("bar-desk").hidden) {
      const keep = { ...state, lines: new Map(state.lines) };
      closeCamera();
      renderDesk();
      Object.assign(state, keep);
      renderSale();
    } else {
      showSetup();
    }
  });
  loadBars();
}
