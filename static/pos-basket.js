// The basket of the Billets tab: what the session's hold token holds (seats, general-admission
// places) with a tariff per seat, the hold countdown, articles added from the point of sale's
// list (one payment and one receipt cover both), and the desk sale:
// POST /api/sessions/{id}/orders with register_session_id, payments and `articles`; a basket
// of articles alone is sold with POST /api/register-sessions/{id}/sales.

import { h } from "./dom.js";
import { register, t } from "./i18n.js";
import { paymentPanel } from "./pos-pay.js";
import { walletLeftText } from "./pos-pay-wallet.js";
import { reserveBox } from "./pos-reserve.js";
import { activeTariffs, seatName } from "./pos-seats.js";
import { clock, dateTime, money, randomKey } from "./pos-util.js";
import { PROTOCOL } from "./protocol.js";
import { api, can, errorText, notify } from "./session.js";
import { refusalText } from "./wallet-text.js";

register({
  fr: {
    "sell.basket": "Panier",
    "sell.empty": "Panier vide.",
    "sell.tariffFor": "Tarif pour {label}",
    "sell.remove": "Retirer {label}",
    "sell.clear": "Vider le panier",
    "sell.heldFor": "Retenu encore",
    "sell.extend": "Plus de temps",
    "sell.extended": "Délai prolongé : {time}.",
    "sell.atCap": "Délai maximal atteint.",
    "sell.expired": "Le délai de réservation est écoulé : les places ont été libérées.",
    "sell.places": "{tariff} × {n}",
    "sell.taken": "Déjà prise(s) : {names}",
    "sell.notEnoughSeats": "Pas assez de places libres pour cette demande.",
    "sell.addArticle": "Ajouter un article",
    "sell.articleAdd": "Ajouter",
    "sell.articleOption": "{name} · {price}",
    "sell.articleOut": "{name} · épuisé",
    "sell.articleLine": "{name} × {n}",
    "sell.removeArticle": "Retirer un {name}",
    "sell.short": "Stock insuffisant : {list}",
    "sell.left": "{name} ({n} restant(s))",
  },
  en: {
    "sell.basket": "Basket",
    "sell.empty": "The basket is empty.",
    "sell.tariffFor": "Tariff for {label}",
    "sell.remove": "Remove {label}",
    "sell.clear": "Empty the basket",
    "sell.heldFor": "Held for",
    "sell.extend": "More time",
    "sell.extended": "Hold extended: {time}.",
    "sell.atCap": "The longest hold is reached.",
    "sell.expired": "The hold ran out: the seats were released.",
    "sell.places": "{tariff} × {n}",
    "sell.taken": "Already taken: {names}",
    "sell.notEnoughSeats": "Not enough free seats for this request.",
    "sell.addArticle": "Add an article",
    "sell.articleAdd": "Add",
    "sell.articleOption": "{name} · {price}",
    "sell.articleOut": "{name} · sold out",
    "sell.articleLine": "{name} × {n}",
    "sell.removeArticle": "Remove one {name}",
    "sell.short": "Not enough stock: {list}",
    "sell.left": "{name} ({n} left)",
  },
});

const { SEAT_STATE } = PROTOCOL;
const HOLD_GONE = new Set(["unknown_hold", "hold_expired", "seats_not_held", "places_not_held"]);
// the server's prices or tariffs differ from the page's: read them again, keep the error shown
const PRICES_CHANGED = new Set(["payments_mismatch", "tariff_inactive", "unknown_tariff"]);

const soldOut = (a) => a.stock !== null && a.stock !== undefined && a.stock <= 0 && !a.allow_negative;

/** The basket of the open session `view`; `basket.element` is its aside. */
export function createBasket(ctx, view) {
  const els = {};
  const holdPath = (suffix = "") => `/api/sessions/${view.id}/holds/${encodeURIComponent(view.token)}${suffix}`;
  const b = {};

  // -- holds ------------------------------------------------------------------------------------

  /** Add to the view's hold (a new one when it has none); the answer, or null after a message. */
  b.hold = async (path, body, pending = []) => {
    if (view.busy) return null;
    view.busy = true;
    for (const id of pending) view.map?.setPending(id, true);
    try {
      const r = await api("POST", path, view.token ? { ...body, token: view.token } : body);
      if (view.closed) return null;
      view.token = r.token;
      view.expiresAt = Date.now() + r.expires_in_ms;
      return r;
    } catch (err) {
      if (view.closed) return null;
      view.overbook?.onRefusal(err);
      if (HOLD_GONE.has(err.code) && view.token) {
        forgetHold(t("sell.expired"));
      } else if (err.code === "seats_taken") {
        const names = (err.details.seats || []).map((id) => seatName(view, id)).join(" ; ");
        notify(`${errorText(err)} — ${t("sell.taken", { names })}`);
      } else if (err.code === "not_enough_seats") {
        notify(`${errorText(err)} — ${t("sell.notEnoughSeats")}`);
      } else {
        notify(errorText(err));
      }
      return null;
    } finally {
      view.busy = false;
      for (const id of pending) view.map?.setPending(id, false);
    }
  };

  b.addSeats = (ids) => {
    for (const id of ids) if (!view.seats.includes(id)) view.seats.push(id);
    view.seats.sort((x, y) => view.map.indexOf(x) - view.map.indexOf(y));
    view.map.setMine(view.seats);
    render();
  };

  b.addPlaces = (tariff, n) => {
    view.places.push({ tariff, n });
    render();
  };

  b.say = (text) => {
    els.said.textContent = text;
  };

  b.release = async (ids) => {
    if (!view.token || view.busy) return;
    const rest = view.seats.filter((s) => !ids.includes(s));
    if (!rest.length && !view.places.length) {
      await releaseHold();
      return;
    }
    view.busy = true;
    try {
      await api("POST", holdPath("/release"), { seats: ids });
      for (const id of ids) delete view.tariffBySeat[id];
      view.seats = rest;
      view.map?.setMine(view.seats);
      render();
    } catch (err) {
      if (err.status === 404 || err.status === 410) forgetHold(t("sell.expired"));
      else notify(errorText(err));
    } finally {
      view.busy = false;
    }
  };

  async function removePlaces(index) {
    const line = view.places[index];
    if (!line || !view.token || view.busy) return;
    if (view.places.length === 1 && !view.seats.length) {
      await releaseHold();
      return;
    }
    view.busy = true;
    try {
      await api("POST", holdPath("/release"), { quantity: line.n });
      view.places.splice(index, 1);
      render();
    } catch (err) {
      if (err.status === 404 || err.status === 410) forgetHold(t("sell.expired"));
      else notify(errorText(err));
    } finally {
      view.busy = false;
    }
  }

  /** Give the hold back (the articles stay in the basket). */
  async function releaseHold() {
    const token = view.token;
    forgetHold();
    if (token) {
      try {
        await api("DELETE", `/api/sessions/${view.id}/holds/${encodeURIComponent(token)}`);
      } catch {
        // expired already
      }
    }
  }

  async function clearBasket() {
    view.articles.clear();
    await releaseHold();
    render();
  }

  function forgetHold(message) {
    const had = view.seats.length || view.places.length;
    view.token = null;
    view.expiresAt = 0;
    view.capAt = 0;
    view.seats = [];
    view.places = [];
    view.tariffBySeat = {};
    view.orderKey = null;
    view.map?.setMine([]);
    render();
    if (message && had) notify(message);
  }
  b.forgetHold = forgetHold;

  async function extend() {
    if (!view.token || view.busy) return;
    view.busy = true;
    try {
      const r = await api("POST", holdPath("/extend"));
      view.expiresAt = Date.now() + r.expires_in_ms;
      view.capAt = Date.now() + (r.cap_at_ms - r.expires_at_ms) + r.expires_in_ms;
      els.said.textContent = t("sell.extended", { time: clock(r.expires_in_ms) });
    } catch (err) {
      if (err.status === 404 || err.status === 410) forgetHold(t("sell.expired"));
      else notify(errorText(err));
    } finally {
      view.busy = false;
      b.tick();
    }
  }

  b.tick = () => {
    if (view.closed || !view.token) return;
    const left = view.expiresAt - Date.now();
    els.countdown.textContent = clock(left);
    els.timer.classList.toggle("urgent", left < 60000);
    const atCap = Boolean(view.capAt) && view.capAt - view.expiresAt < 1000;
    els.extend.disabled = atCap;
    els.extend.title = atCap ? t("sell.atCap") : "";
    if (left <= 0 && !view.busy) forgetHold(t("sell.expired"));
  };

  /** After a live frame: is one of my seats no longer held? Ask what the hold still holds. */
  b.onMap = () => {
    if (!view.map || !view.seats.length || view.busy) return;
    const lost = view.seats.filter((id) => view.map.states[view.map.indexOf(id)] !== SEAT_STATE.HELD);
    if (lost.length) reconcile();
  };

  async function reconcile() {
    if (!view.token || view.busy || view.paying) return;
    try {
      const r = await api("GET", holdPath());
      view.seats = view.seats.filter((id) => r.seats.includes(id));
      view.map?.setMine(view.seats);
      view.expiresAt = Date.now() + r.expires_in_ms;
      render();
    } catch (err) {
      if (err.status === 404 || err.status === 410) forgetHold(t("sell.expired"));
    }
  }

  // -- articles ---------------------------------------------------------------------------------

  function articlePicker() {
    const select = h("select", { id: "basket-article", "data-testid": "basket-article" });
    const fill = () => {
      const chosen = select.value;
      select.replaceChildren(...ctx.articles().map((a) => h("option", {
        value: a.id, disabled: soldOut(a), selected: String(a.id) === chosen,
      }, soldOut(a) ? t("sell.articleOut", { name: a.name })
        : t("sell.articleOption", { name: a.name, price: money(a.price_cents, a.currency) }))));
    };
    select.addEventListener("focus", fill);
    select.addEventListener("pointerdown", fill);
    const add = h("button", { type: "button", class: "btn btn-small", "data-testid": "basket-article-add",
      onclick: () => {
        const a = ctx.articles().find((x) => String(x.id) === select.value);
        if (!a || soldOut(a)) return;
        view.articles.set(a.id, (view.articles.get(a.id) || 0) + 1);
        render();
      } }, `+ ${t("sell.articleAdd")}`);
    const box = h("div", { class: "basket-add-article", role: "group", "aria-labelledby": "basket-article-label" },
      h("label", { for: "basket-article", id: "basket-article-label", class: "small" }, t("sell.addArticle")),
      h("div", { class: "inline-field" }, select, add));
    return { box, fill };
  }

  function articleOf(id) {
    return ctx.articles().find((a) => a.id === id) || null;
  }

  function articleLines() {
    return [...view.articles].map(([id, n]) => {
      const a = articleOf(id) || { name: `#${id}`, price_cents: 0, currency: currencyOf() };
      const label = t("sell.articleLine", { name: a.name, n });
      return h("li", { class: "basket-item", "data-testid": "basket-article-line", "data-article-id": id },
        h("span", { class: "line-label" }, label),
        h("span", { class: "line-price" }, money(a.price_cents * n, a.currency)),
        h("button", { type: "button", class: "btn-icon", "aria-label": t("sell.removeArticle", { name: a.name }),
          title: t("sell.removeArticle", { name: a.name }), onclick: () => {
            if (n > 1) view.articles.set(id, n - 1);
            else view.articles.delete(id);
            render();
          } }, "×"));
    });
  }

  // -- rendering --------------------------------------------------------------------------------

  function currencyOf() {
    return view.detail?.tariffs?.[0]?.currency || ctx.currency();
  }

  function seatTariff(id) {
    const category = view.map.seat(view.map.indexOf(id)).category;
    const list = activeTariffs(view.detail, category);
    return { list, chosen: list.find((x) => x.id === view.tariffBySeat[id]) || list[0] };
  }

  function ticketsTotal() {
    let total = 0;
    for (const id of view.seats) total += seatTariff(id).chosen?.price_cents || 0;
    for (const p of view.places) total += p.tariff.price_cents * p.n;
    return total;
  }
  b.ticketsTotal = ticketsTotal;

  function total() {
    let sum = ticketsTotal();
    for (const [id, n] of view.articles) sum += (articleOf(id)?.price_cents || 0) * n;
    return sum;
  }

  function seatLine(id) {
    const label = seatName(view, id);
    const { list, chosen } = seatTariff(id);
    return h("li", { class: "basket-item", "data-testid": "basket-item", "data-seat-id": id },
      h("span", { class: "line-label" }, label),
      h("select", { "aria-label": t("sell.tariffFor", { label }), "data-testid": "seat-tariff",
        onchange: (e) => {
          view.tariffBySeat[id] = Number(e.target.value);
          render();
        } },
      list.map((x) => h("option", { value: x.id, selected: x.id === chosen?.id },
        `${x.name} (${money(x.price_cents, x.currency)})`))),
      h("button", { type: "button", class: "btn-icon", "aria-label": t("sell.remove", { label }),
        title: t("sell.remove", { label }), onclick: () => b.release([id]) }, "×"));
  }

  function placeLine(p, i) {
    const label = t("sell.places", { tariff: p.tariff.name, n: p.n });
    return h("li", { class: "basket-item", "data-testid": "basket-item" },
      h("span", { class: "line-label" }, label),
      h("span", { class: "line-price" }, money(p.tariff.price_cents * p.n, currencyOf())),
      h("button", { type: "button", class: "btn-icon", "aria-label": t("sell.remove", { label }),
        title: t("sell.remove", { label }), onclick: () => removePlaces(i) }, "×"));
  }

  function render() {
    if (!els.items) return;
    els.items.replaceChildren(...view.seats.map(seatLine), ...view.places.map(placeLine), ...articleLines());
    if (!view.seats.length) els.said.textContent = "";
    const held = view.seats.length > 0 || view.places.length > 0;
    const empty = !held && !view.articles.size;
    els.empty.hidden = !empty;
    els.timer.hidden = !held;
    els.payBox.hidden = empty;
    els.picker.box.hidden = !ctx.articles().length;
    els.picker.fill();
    view.pay.setTotal(total());
    if (empty) view.pay.reset();
    els.reserve?.update(held, view.articles.size > 0);
    b.tick();
  }
  b.render = render;

  function build() {
    els.items = h("ul", { class: "basket-items", "data-testid": "basket" });
    els.empty = h("p", { class: "muted" }, t("sell.empty"));
    els.said = h("p", { class: "small muted", role: "status", "data-testid": "basket-said" });
    els.countdown = h("strong", { "data-testid": "hold-countdown", role: "timer" }, "--:--");
    els.extend = h("button", { type: "button", class: "btn btn-small", "data-testid": "extend",
      onclick: extend }, t("sell.extend"));
    els.timer = h("div", { class: "hold-timer", hidden: true },
      h("span", {}, `◷ ${t("sell.heldFor")} `, els.countdown), els.extend);
    els.picker = articlePicker();
    view.pay = paymentPanel({ currency: currencyOf(), onPay: pay, wallet: true });
    if (can(ctx.user, "reserve")) els.reserve = reserveBox(ctx, view, b);
    els.payBox = h("div", { hidden: true }, view.pay.element, els.reserve?.element || null,
      h("button", { type: "button", class: "btn btn-small", "data-testid": "basket-clear",
        onclick: clearBasket }, t("sell.clear")));
    return h("aside", { class: "basket", "aria-labelledby": "basket-title" },
      h("h2", { id: "basket-title" }, t("sell.basket")),
      els.empty, els.items, els.said, els.timer, els.picker.box, els.payBox);
  }

  // -- the sale ---------------------------------------------------------------------------------

  /** Tariffs as the server has them now (after a refusal over prices): the basket's total follows. */
  async function refreshTariffs() {
    try {
      const detail = await api("GET", `/api/sessions/${view.id}`);
      if (view.closed) return;
      view.detail.tariffs = detail.tariffs;
      for (const p of view.places) p.tariff = detail.tariffs.find((x) => x.id === p.tariff.id) || p.tariff;
      const error = view.pay.element.querySelector("[data-testid=pay-error]");
      const shown = error && !error.hidden ? [error.textContent, error.dataset.code] : null;
      render();
      if (shown) view.pay.showError(shown[0], shown[1]);
    } catch {
      // the error stays on the screen; the cashier can go back to the session list
    }
  }

  /** The order's tickets: a seat each, general-admission places by tariff. */
  b.orderItems = () => {
    const items = view.seats.map((id) => ({ seat: id, tariff_id: seatTariff(id).chosen?.id }));
    const byTariff = new Map();
    for (const p of view.places) byTariff.set(p.tariff.id, (byTariff.get(p.tariff.id) || 0) + p.n);
    for (const [tariff_id, quantity] of byTariff) items.push({ tariff_id, quantity });
    return items;
  };

  b.rememberTickets = (order) => {
    ctx.rememberTickets(order.tickets.map((tk) => ({
      id: tk.id, seat: tk.seat_id ? seatName(view, tk.seat_id) : null,
      event: `${view.detail.event_name} · ${dateTime(view.detail.starts_at)}`,
    })));
  };

  function send(rs, payments) {
    view.orderKey = view.orderKey || randomKey();
    const articles = [...view.articles].map(([article_id, quantity]) => ({ article_id, quantity }));
    if (!view.token) {
      return api("POST", `/api/register-sessions/${rs.id}/sales`,
        { idempotency_key: view.orderKey, items: articles, payments })
        .then((entry) => ({ receipt: { journal_id: entry.id, receipt_no: entry.receipt_no }, tickets: [] }));
    }
    const body = { hold_token: view.token, idempotency_key: view.orderKey, items: b.orderItems(),
      register_session_id: rs.id, payments };
    if (articles.length) body.articles = articles;
    return api("POST", `/api/sessions/${view.id}/orders`, body);
  }

  async function refused(err) {
    if (err.status === 0 || err.status === 503) {
      view.pay.showError(errorText(err), err.code); // same key on the retry: never sold twice
      return;
    }
    view.orderKey = null;
    let text = refusalText(err, currencyOf());
    if (err.code === "seats_taken") {
      text += ` — ${t("sell.taken", { names: (err.details.seats || []).map((id) => seatName(view, id)).join(" ; ") })}`;
    }
    if (err.code === "out_of_stock") {
      const short = (err.details.articles || []).map((x) => t("sell.left",
        { name: articleOf(x.article_id)?.name ?? `#${x.article_id}`, n: x.stock }));
      text += ` — ${t("sell.short", { list: short.join(" ; ") })}`;
    }
    view.pay.showError(text, err.code);
    notify(text);
    if (err.code === "register_session_closed") {
      ctx.restart(); // closed elsewhere (a supervisor, a hand-over): open or take over again
      return;
    }
    if (HOLD_GONE.has(err.code) || err.code === "seats_taken") await reconcile();
    if (PRICES_CHANGED.has(err.code)) await refreshTariffs();
  }

  async function pay(payments, summary) {
    const rs = ctx.registerSession();
    if (!rs || (!view.token && !view.articles.size) || view.paying) return;
    view.paying = true;
    view.pay.setBusy(true);
    let order;
    try {
      order = await send(rs, payments);
    } catch (err) {
      view.paying = false;
      view.pay.setBusy(false);
      await refused(err);
      return;
    }
    view.paying = false;
    view.pay.setBusy(false);
    b.rememberTickets(order);
    if (order.receipt?.wallet) notify(walletLeftText(order.receipt.wallet, currencyOf()), "success");
    view.articles.clear();
    view.token = null; // sold: nothing to release
    forgetHold();
    await ctx.afterSale(order.receipt, summary?.changeCents ?? 0);
  }

  b.element = build();
  render();
  return b;
}
