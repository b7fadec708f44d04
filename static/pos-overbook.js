// Overbooking at the cash desk, only for a user holding `sell.overbook` (role `overbooker`
// with `pos`; docs/cash.md, "Overbooking"): seats the organiser blocked, chosen on the live
// map, or general-admission places past a full session's capacity. An overbooking is a sale
// of its own: while its mode is on, the ordinary basket (and its hold) is set aside, the
// overbooking basket takes its place with a tariff per seat or per line of places and the same
// payment panel, and the sale is POST /api/sessions/{id}/orders with `overbook: true`, no hold
// token, at the open register; the receipt is the ordinary one and the seats turn sold live.
//
//   const ob = mountOverbook(ctx, view, mainColumn, basket);  // null without the permission
//   view.overbook.onSeat(seat, state) → handled?;  .onLive();  .onRefusal(err)

import { h } from "./dom.js";
import { register, t } from "./i18n.js";
import { paymentPanel } from "./pos-pay.js";
import { activeTariffs, seatName } from "./pos-seats.js";
import { money, randomKey } from "./pos-util.js";
import { api, can, errorText, notify } from "./session.js";

register({
  fr: {
    "ob.title": "Surréservation",
    "ob.seatedHelp": "Vendre des places bloquées par l'organisateur. Une vente à part, avec son paiement et son reçu, inscrite au journal d'audit.",
    "ob.gaHelp": "Vendre des places au-delà de la jauge d'une séance complète. Une vente à part, avec son paiement et son reçu, inscrite au journal d'audit.",
    "ob.full": "Séance complète : plus aucune place en vente.",
    "ob.start": "Surréserver…",
    "ob.stop": "Quitter la surréservation",
    "ob.modeOn": "Mode surréservation activé : touchez une place bloquée (pointillés) pour l'ajouter, touchez-la de nouveau pour la retirer.",
    "ob.basketFirst": "Encaissez ou videz d'abord le panier : une surréservation est une vente à part, avec son propre reçu.",
    "ob.basket": "Surréservation",
    "ob.apart": "Vente à part : ni retenue ni articles ; son paiement, son reçu.",
    "ob.empty": "Aucune place choisie.",
    "ob.seatLine": "⚠ {name} · bloquée",
    "ob.places": "⚠ {tariff} × {n} au-delà de la jauge",
    "ob.quantity": "Places à surréserver",
    "ob.addTariff": "Ajouter au tarif :",
    "ob.freeInMode": "{where} est libre : quittez la surréservation pour la vendre normalement.",
    "ob.blockedHint": "{where} est bloquée. « Surréserver… » pour la vendre quand même.",
    "ob.gone": "{names} : n'est plus bloquée, retirée de la surréservation.",
    "ob.roomLeft": "Il reste {n} place(s) en vente : vendez-les normalement (vente rapide), la surréservation ne sert qu'au-delà.",
    "ob.notBlocked": "Ces places ne sont plus bloquées : {names}. Vendez-les normalement ; elles sont retirées de la surréservation.",
    "ob.taken": "Déjà vendue(s) : {names}. Elles sont retirées de la surréservation.",
    "ob.atRegister": "Une surréservation se paie à une caisse ouverte.",
    "ob.forbidden": "Vous n'avez pas le droit de surréserver (rôle « overbooker »).",
    "legend.picked": "Bloquée, choisie (pointillés)",
  },
  en: {
    "ob.title": "Overbooking",
    "ob.seatedHelp": "Sell seats the organiser blocked. A sale of its own, with its payment and receipt, recorded in the audit log.",
    "ob.gaHelp": "Sell places past the capacity of a full session. A sale of its own, with its payment and receipt, recorded in the audit log.",
    "ob.full": "Session full: no place left on sale.",
    "ob.start": "Overbook…",
    "ob.stop": "Leave overbooking",
    "ob.modeOn": "Overbooking on: tap a blocked seat (dashed) to add it, tap it again to remove it.",
    "ob.basketFirst": "Take payment for the basket or empty it first: an overbooking is a sale of its own, with its own receipt.",
    "ob.basket": "Overbooking",
    "ob.apart": "A sale of its own: no hold, no articles; its payment, its receipt.",
    "ob.empty": "No seat chosen.",
    "ob.seatLine": "⚠ {name} · blocked",
    "ob.places": "⚠ {tariff} × {n} past capacity",
    "ob.quantity": "Places to overbook",
    "ob.addTariff": "Add at tariff:",
    "ob.freeInMode": "{where} is free: leave overbooking to sell it normally.",
    "ob.blockedHint": "{where} is blocked. \"Overbook…\" to sell it all the same.",
    "ob.gone": "{names}: no longer blocked, removed from the overbooking.",
    "ob.roomLeft": "{n} place(s) still on sale: sell them normally (quick sale); overbooking is only for past that.",
    "ob.notBlocked": "These seats are no longer blocked: {names}. Sell them normally; they are removed from the overbooking.",
    "ob.taken": "Sold already: {names}. They are removed from the overbooking.",
    "ob.atRegister": "An overbooking is paid at an open register.",
    "ob.forbidden": "You may not overbook (role \"overbooker\").",
    "legend.picked": "Blocked, chosen (dashed)",
  },
});

/** The overbooking of the open session `view`, in `main` (left column) beside `basket`. */
export function mountOverbook(ctx, view, main, basket) {
  if (!can(ctx.user, "sell.overbook")) return null;
  const seated = Boolean(view.detail.seated);
  const ob = { on: false, seats: [], tariffBySeat: {}, places: [], qty: 1, key: null, paying: false, full: false };
  const currency = view.detail.tariffs?.[0]?.currency || ctx.currency();
  let aside = null;
  let pay = null;
  let items = null;

  const said = h("p", { class: "small", role: "status", "data-testid": "overbook-said" });
  const toggle = h("button", { type: "button", class: "btn", "data-testid": "overbook-mode",
    "aria-pressed": "false", onclick: () => (ob.on ? leave() : enter()) });
  const qty = h("output", { class: "stepper-value", "data-testid": "overbook-qty", "aria-live": "polite" }, "1");
  const setQty = (n) => {
    ob.qty = Math.max(1, Math.min(50, n));
    qty.textContent = String(ob.qty);
  };
  const placesBox = seated ? null : h("div", { class: "overbook-places", hidden: true },
    h("div", { class: "stepper", role: "group", "aria-label": t("ob.quantity") },
      h("span", { class: "stepper-label" }, t("ob.quantity")),
      h("button", { type: "button", class: "btn btn-step", "aria-label": t("sell.less"),
        "data-testid": "overbook-minus", onclick: () => setQty(ob.qty - 1) }, "−"),
      qty,
      h("button", { type: "button", class: "btn btn-step", "aria-label": t("sell.more"),
        "data-testid": "overbook-plus", onclick: () => setQty(ob.qty + 1) }, "+")),
    h("p", { class: "small" }, t("ob.addTariff")),
    h("div", { class: "tariff-buttons" }, activeTariffs(view.detail).map((tf) => h("button", {
      type: "button", class: "btn tariff-btn", "data-testid": "overbook-tariff", "data-tariff-id": tf.id,
      onclick: () => addPlaces(tf),
    }, h("strong", {}, tf.name), h("span", {}, money(tf.price_cents, tf.currency))))));
  const fullNote = seated ? null : h("p", { class: "overbook-full", "data-testid": "overbook-full" }, `● ${t("ob.full")}`);
  const section = h("section", { class: "overbook", "data-testid": "overbook-panel", "aria-labelledby": "overbook-title",
    hidden: !seated },
  h("h3", { id: "overbook-title" }, `⚠ ${t("ob.title")}`),
  fullNote,
  h("p", { class: "muted small" }, t(seated ? "ob.seatedHelp" : "ob.gaHelp")),
  toggle, placesBox, said);
  main.querySelector(".best-form, .quick")?.after(section);
  if (!section.isConnected) main.append(section);

  // -- the mode ----------------------------------------------------------------------------------

  function setAside(others) {
    for (const el of main.querySelectorAll(".best-form, .quick")) el.hidden = others;
    basket.element.hidden = others;
  }

  function enter() {
    if (view.token || view.articles.size || view.paying || view.busy) {
      said.textContent = t("ob.basketFirst");
      notify(t("ob.basketFirst"), "info");
      return;
    }
    ob.on = true;
    ob.key = null;
    setAside(true);
    pay = paymentPanel({ currency, onPay: sell });
    items = h("ul", { class: "basket-items", "data-testid": "overbook-basket" });
    aside = h("aside", { class: "basket overbook-basket", "data-testid": "overbook", "aria-labelledby": "overbook-basket-title" },
      h("h2", { id: "overbook-basket-title" }, `⚠ ${t("ob.basket")}`),
      h("p", { class: "small muted" }, t("ob.apart")),
      items, pay.element,
      h("button", { type: "button", class: "btn btn-small", "data-testid": "overbook-leave", onclick: leave }, t("ob.stop")));
    basket.element.after(aside);
    if (view.map) {
      view.map.container.classList.add("overbooking");
      view.map.setClickable(["picked", "unavailable"]);
    }
    said.textContent = seated ? t("ob.modeOn") : "";
    render();
    (placesBox?.querySelector("[data-testid=overbook-tariff]") || toggle).focus();
  }

  function leave() {
    ob.on = false;
    ob.seats = [];
    ob.places = [];
    ob.tariffBySeat = {};
    ob.key = null;
    aside?.remove();
    aside = null;
    pay = null;
    setAside(false);
    if (view.map) {
      view.map.container.classList.remove("overbooking");
      view.map.setPicked([]);
      view.map.setClickable(["free", "mine"]);
    }
    said.textContent = "";
    render();
  }

  // -- what is chosen ---------------------------------------------------------------------------

  function seatTariff(id) {
    const list = activeTariffs(view.detail, view.map.seat(view.map.indexOf(id)).category);
    return { list, chosen: list.find((x) => x.id === ob.tariffBySeat[id]) || list[0] };
  }

  function dropSeats(ids) {
    ob.seats = ob.seats.filter((id) => !ids.includes(id));
    for (const id of ids) delete ob.tariffBySeat[id];
    view.map?.setPicked(ob.seats);
    ob.key = null;
    render();
  }

  function toggleSeat(seat) {
    if (ob.seats.includes(seat.id)) {
      dropSeats([seat.id]);
      return;
    }
    if (!activeTariffs(view.detail, seat.category).length) {
      notify(t("sell.noTariff"), "info");
      return;
    }
    ob.seats.push(seat.id);
    ob.seats.sort((x, y) => view.map.indexOf(x) - view.map.indexOf(y));
    view.map.setPicked(ob.seats);
    ob.key = null;
    render();
  }

  function addPlaces(tariff) {
    if (!ob.on) return;
    ob.places.push({ tariff, n: ob.qty });
    ob.key = null;
    render();
    aside?.querySelector("[data-testid=given-exact]")?.focus();
  }

  function total() {
    let sum = 0;
    for (const id of ob.seats) sum += seatTariff(id).chosen?.price_cents || 0;
    for (const p of ob.places) sum += p.tariff.price_cents * p.n;
    return sum;
  }

  function orderItems() {
    const out = ob.seats.map((id) => ({ seat: id, tariff_id: seatTariff(id).chosen?.id }));
    const byTariff = new Map();
    for (const p of ob.places) byTariff.set(p.tariff.id, (byTariff.get(p.tariff.id) || 0) + p.n);
    for (const [tariff_id, quantity] of byTariff) out.push({ tariff_id, quantity });
    return out;
  }

  function seatLine(id) {
    const name = seatName(view, id);
    const { list, chosen } = seatTariff(id);
    return h("li", { class: "basket-item overbook-item", "data-testid": "overbook-item", "data-seat-id": id },
      h("span", { class: "line-label" }, t("ob.seatLine", { name })),
      h("select", { "aria-label": t("sell.tariffFor", { label: name }), "data-testid": "overbook-seat-tariff",
        onchange: (e) => {
          ob.tariffBySeat[id] = Number(e.target.value);
          ob.key = null;
          render();
        } },
      list.map((x) => h("option", { value: x.id, selected: x.id === chosen?.id },
        `${x.name} (${money(x.price_cents, x.currency)})`))),
      h("button", { type: "button", class: "btn-icon", "aria-label": t("sell.remove", { label: name }),
        title: t("sell.remove", { label: name }), onclick: () => dropSeats([id]) }, "×"));
  }

  function placeLine(p, i) {
    const label = t("ob.places", { tariff: p.tariff.name, n: p.n });
    return h("li", { class: "basket-item overbook-item", "data-testid": "overbook-item" },
      h("span", { class: "line-label" }, label),
      h("span", { class: "line-price" }, money(p.tariff.price_cents * p.n, currency)),
      h("button", { type: "button", class: "btn-icon", "aria-label": t("sell.remove", { label }),
        title: t("sell.remove", { label }), onclick: () => {
          ob.places.splice(i, 1);
          ob.key = null;
          render();
        } }, "×"));
  }

  function render() {
    toggle.textContent = ob.on ? t("ob.stop") : `⚠ ${t("ob.start")}`;
    toggle.setAttribute("aria-pressed", String(ob.on));
    if (!seated) {
      section.hidden = !ob.full && !ob.on;
      placesBox.hidden = !ob.on;
    }
    if (!aside) return;
    const lines = [...ob.seats.map(seatLine), ...ob.places.map(placeLine)];
    items.replaceChildren(...(lines.length ? lines : [h("li", { class: "muted" }, t("ob.empty"))]));
    pay.element.hidden = !lines.length;
    pay.setTotal(total());
  }

  // -- the sale ---------------------------------------------------------------------------------

  function refusal(err) {
    const names = (ids) => (ids || []).map((id) => seatName(view, id)).join(" ; ");
    switch (err.code) {
      case "room_left":
        return t("ob.roomLeft", { n: err.details.available ?? "?" });
      case "seats_not_blocked":
        dropSeats(err.details.seats || []);
        return t("ob.notBlocked", { names: names(err.details.seats) });
      case "seats_taken":
        dropSeats(err.details.seats || []);
        return t("ob.taken", { names: names(err.details.seats) });
      case "overbook_at_register":
        return t("ob.atRegister");
      default:
        return err.status === 403 ? t("ob.forbidden") : errorText(err);
    }
  }

  async function sell(payments, summary) {
    const rs = ctx.registerSession();
    const list = orderItems();
    if (!rs || ob.paying || !list.length) return;
    ob.key = ob.key || randomKey();
    ob.paying = true;
    pay.setBusy(true);
    const panel = pay;
    let order;
    try {
      order = await api("POST", `/api/sessions/${view.id}/orders`, { overbook: true,
        idempotency_key: ob.key, items: list, register_session_id: rs.id, payments });
    } catch (err) {
      if (err.status !== 0 && err.status !== 503) ob.key = null; // else the retry reuses the key
      const text = refusal(err);
      if (pay) pay.showError(text, err.code);
      said.textContent = text;
      notify(text);
      if (err.code === "register_session_closed") ctx.restart();
      return;
    } finally {
      ob.paying = false;
      panel.setBusy(false);
    }
    if (view.closed) return;
    basket.rememberTickets(order);
    leave();
    await ctx.afterSale(order.receipt, summary?.changeCents ?? 0);
  }

  // -- hooks from the map, the live feed and the basket -----------------------------------------

  /** A tap on the map: handled here (true) in overbooking mode, or for a blocked seat. */
  function onSeat(seat, state) {
    const where = seatName(view, seat.id);
    if (ob.on) {
      if (state === "unavailable" || state === "picked") toggleSeat(seat);
      else if (state === "free") notify(t("ob.freeInMode", { where }), "info");
      else return false;
      return true;
    }
    if (state !== "unavailable") return false;
    notify(t("ob.blockedHint", { where }), "info");
    return true;
  }

  /** After a live frame: chosen seats no longer blocked leave the overbooking; a full session
   * (no free place on the gauge) offers the overbooking of places. */
  function onLive() {
    if (view.map && ob.seats.length) {
      const gone = ob.seats.filter((id) => view.map.stateOf(id) !== "picked");
      if (gone.length && !ob.paying) {
        dropSeats(gone);
        notify(t("ob.gone", { names: gone.map((id) => seatName(view, id)).join(" ; ") }), "info");
      }
    }
    if (!seated && view.gauge) {
      const full = view.gauge.free <= 0;
      if (full !== ob.full) {
        ob.full = full;
        render();
      }
    }
  }

  /** The basket's hold was refused: "not enough places" on general admission offers overbooking. */
  function onRefusal(err) {
    if (seated || err.code !== "not_enough_places") return;
    ob.full = true;
    render();
    said.textContent = t("ob.full");
    toggle.focus();
  }

  if (view.map) {
    main.querySelector(".legend")?.append(
      h("li", {}, h("span", { class: "swatch", "data-state": "picked" }), t("legend.picked")));
  }
  view.overbook = { onSeat, onLive, onRefusal };
  render();
  return view.overbook;
}
