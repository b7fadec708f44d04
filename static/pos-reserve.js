// Unpaid reservations at the cash desk (permission `reserve` to book, `sell` to collect):
// the basket's "Reserve (unpaid)" books the held seats or places for a buyer's name
// (POST /api/sessions/{id}/orders with `reservation: true`, no register session) and prints
// a summary (reservation number, seats, amount due); the finder above the sessions looks a
// reservation up by number or name (GET /api/reservations?q=) and collects its payment at the
// register (POST /api/orders/{id}/pay), which prints the receipt of the sale.

import { h } from "./dom.js";
import { register, t } from "./i18n.js";
import { paymentPanel } from "./pos-pay.js";
import { showDoc } from "./pos-receipt.js";
import { seatName } from "./pos-seats.js";
import { dateTime, money, randomKey } from "./pos-util.js";
import { api, errorText, notify } from "./session.js";
import { refusalText } from "./wallet-text.js";

register({
  fr: {
    "resa.reserve": "Réserver (non payé)",
    "resa.buyer": "Nom de l'acheteur",
    "resa.submit": "Réserver sans payer",
    "resa.help": "Les places sont réservées au nom donné ; elles seront payées au guichet.",
    "resa.noArticles": "Les articles se paient tout de suite : retirez-les pour réserver.",
    "resa.needName": "Saisissez le nom de l'acheteur.",
    "resa.title": "Réservation n° {n}",
    "resa.summary": "Récapitulatif de réservation",
    "resa.number": "Réservation n° {n}",
    "resa.name": "Au nom de",
    "resa.session": "Séance",
    "resa.due": "Reste à payer",
    "resa.unpaid": "NON PAYÉE : à régler au guichet avant la séance.",
    "resa.find": "Retrouver une réservation",
    "resa.query": "Numéro ou nom",
    "resa.search": "Chercher",
    "resa.none": "Aucune réservation non payée trouvée.",
    "resa.found": "{n} réservation(s) non payée(s)",
    "resa.pay": "Encaisser",
    "resa.payFor": "Encaisser la réservation n° {n}",
    "resa.cancel": "Annuler",
    "resa.place": "Placement libre",
  },
  en: {
    "resa.reserve": "Reserve (unpaid)",
    "resa.buyer": "Buyer's name",
    "resa.submit": "Reserve without paying",
    "resa.help": "The seats are reserved under this name, to be paid at the desk.",
    "resa.noArticles": "Articles are paid at once: remove them to reserve.",
    "resa.needName": "Type the buyer's name.",
    "resa.title": "Reservation no. {n}",
    "resa.summary": "Reservation summary",
    "resa.number": "Reservation no. {n}",
    "resa.name": "Name",
    "resa.session": "Session",
    "resa.due": "Amount due",
    "resa.unpaid": "UNPAID: to be paid at the desk before the session.",
    "resa.find": "Find a reservation",
    "resa.query": "Number or name",
    "resa.search": "Search",
    "resa.none": "No unpaid reservation found.",
    "resa.found": "{n} unpaid reservation(s)",
    "resa.pay": "Collect payment",
    "resa.payFor": "Collect reservation no. {n}",
    "resa.cancel": "Cancel",
    "resa.place": "General admission",
  },
});

const seatText = (tk, seatName) => (tk.seat_id ? seatName(tk.seat_id) : t("resa.place"));

/** The printable summary of a reservation: number, name, session, each ticket, amount due. */
export function reservationPaper(r, seatName = (id) => id) {
  const cur = r.currency;
  return h("article", { class: "paper", "data-testid": "reservation-summary", "data-order-id": r.id },
    h("header", { class: "paper-head" },
      h("p", { class: "paper-brand" }, "◆ Guichet"),
      h("p", { class: "paper-title" }, t("resa.summary"), " · ",
        h("span", { "data-testid": "reservation-no" }, t("resa.number", { n: r.id })))),
    h("table", { class: "paper-meta" }, h("tbody", {},
      h("tr", {}, h("th", { scope: "row" }, t("resa.name")), h("td", { "data-testid": "reservation-name" }, r.buyer_name || "")),
      h("tr", {}, h("th", { scope: "row" }, t("resa.session")), h("td", {}, `${r.event_name} · ${dateTime(r.starts_at)}`)))),
    h("table", { class: "paper-lines" }, h("tbody", {}, r.tickets.map((tk) => h("tr", { "data-testid": "reservation-line" },
      h("td", {}, h("span", { class: "line-desc" }, tk.tariff),
        h("span", { class: "line-sub" }, seatText(tk, seatName))),
      h("td", { class: "num" }, money(tk.price_cents, cur)))))),
    h("table", { class: "paper-totals" }, h("tbody", {},
      h("tr", { class: "total-row" }, h("th", { scope: "row" }, t("resa.due")),
        h("td", { class: "num" }, h("strong", { "data-testid": "reservation-due" }, money(r.total_cents, cur)))))),
    h("footer", { class: "paper-foot" }, h("p", {}, h("strong", {}, t("resa.unpaid")))));
}

/** "Reserve (unpaid)" in the basket of the open session `view`. */
export function reserveBox(ctx, view, basket) {
  const name = h("input", { id: "reserve-name", "data-testid": "reserve-name", autocomplete: "off", maxlength: "200" });
  const note = h("p", { class: "small muted", "data-testid": "reserve-note" });
  const submit = h("button", { type: "submit", class: "btn", "data-testid": "reserve-submit" }, `◔ ${t("resa.submit")}`);
  let key = null;
  const form = h("form", { class: "reserve-form", novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    if (!view.token || view.articles.size || view.paying) return;
    if (!name.value.trim()) {
      note.textContent = t("resa.needName");
      name.focus();
      return;
    }
    key = key || randomKey();
    view.paying = true;
    submit.disabled = true;
    try {
      const order = await api("POST", `/api/sessions/${view.id}/orders`, { hold_token: view.token,
        idempotency_key: key, items: basket.orderItems(), reservation: true,
        buyer: { name: name.value.trim() } });
      key = null;
      name.value = "";
      basket.rememberTickets(order);
      view.token = null; // booked: nothing to release
      basket.forgetHold();
      const d = view.detail;
      showDoc(ctx, { title: t("resa.title", { n: order.id }), paper: reservationPaper({
        ...order, event_name: d.event_name, starts_at: d.starts_at,
        tickets: order.tickets.map((tk) => ({ ...tk, tariff: tk.tariff ?? d.tariffs.find((x) => x.id === tk.tariff_id)?.name })),
      }, (id) => seatName(view, id)) });
    } catch (err) {
      if (err.status !== 0 && err.status !== 503) key = null;
      note.textContent = errorText(err);
      notify(errorText(err));
    } finally {
      view.paying = false;
      submit.disabled = false;
    }
  } },
  h("label", { class: "field", for: "reserve-name" }, h("span", {}, t("resa.buyer")), name),
  note, submit);
  const element = h("details", { class: "reserve", "data-testid": "reserve" },
    h("summary", { "data-testid": "reserve-open" }, t("resa.reserve")),
    h("p", { class: "small muted" }, t("resa.help")), form);
  return {
    element,
    update(held, hasArticles) {
      element.hidden = !held;
      submit.disabled = hasArticles;
      note.textContent = hasArticles ? t("resa.noArticles") : "";
    },
  };
}

/** The finder above the sessions: a reservation by number or name, its payment collected. */
export function reservationFinder(ctx) {
  const query = h("input", { id: "resa-query", type: "search", "data-testid": "reservation-search",
    autocomplete: "off", maxlength: "100" });
  const said = h("p", { class: "small muted", role: "status", "data-testid": "reservation-said" });
  const list = h("ul", { class: "reservation-list" });
  async function search(e) {
    e?.preventDefault();
    const q = query.value.trim();
    try {
      const found = await api("GET", `/api/reservations?${new URLSearchParams({ q, limit: "20" })}`);
      said.textContent = found.reservations.length ? t("resa.found", { n: found.reservations.length }) : t("resa.none");
      list.replaceChildren(...found.reservations.map(item));
    } catch (err) {
      said.textContent = errorText(err);
    }
  }

  function item(r) {
    const slot = h("div", {});
    const li = h("li", { class: "reservation", "data-testid": "reservation", "data-order-id": r.id },
      h("div", { class: "reservation-head" },
        h("strong", {}, t("resa.number", { n: r.id })), " · ", h("span", {}, r.buyer_name || "—"),
        h("span", { class: "muted small" }, ` · ${r.event_name} · ${dateTime(r.starts_at)}`)),
      h("p", { class: "small" }, r.tickets.map((tk) => `${tk.tariff} (${seatText(tk, (id) => id)})`).join(" ; "),
        " · ", h("strong", {}, `${t("resa.due")} : ${money(r.total_cents, r.currency)}`)),
      h("button", { type: "button", class: "btn btn-small", "data-testid": "reservation-pay",
        "aria-label": t("resa.payFor", { n: r.id }), onclick: () => collect(r, slot) }, t("resa.pay")),
      slot);
    return li;
  }

  function collect(r, slot) {
    let key = null;
    const panel = paymentPanel({ currency: r.currency, wallet: true, onPay: async (payments, summary) => {
      const rs = ctx.registerSession();
      if (!rs) return;
      key = key || randomKey();
      panel.setBusy(true);
      try {
        const receipt = await api("POST", `/api/orders/${r.id}/pay`,
          { register_session_id: rs.id, payments, idempotency_key: key });
        ctx.rememberTickets(r.tickets.map((tk) => ({ id: tk.id, seat: tk.seat_id,
          event: `${r.event_name} · ${dateTime(r.starts_at)}` })));
        slot.closest("li")?.remove();
        await ctx.afterSale(receipt, summary?.changeCents ?? 0);
      } catch (err) {
        if (err.status !== 0 && err.status !== 503) key = null;
        panel.showError(refusalText(err, r.currency), err.code);
        notify(refusalText(err, r.currency));
      } finally {
        panel.setBusy(false);
      }
    } });
    panel.setTotal(r.total_cents);
    slot.replaceChildren(panel.element, h("button", { type: "button", class: "btn btn-small",
      onclick: () => slot.replaceChildren() }, t("resa.cancel")));
    slot.querySelector("[data-testid=given-exact]")?.focus();
  }

  return h("section", { class: "reservation-finder", "aria-labelledby": "resa-title" },
    h("h2", { id: "resa-title" }, t("resa.find")),
    h("form", { class: "inline-field", role: "search", onsubmit: search },
      h("label", { for: "resa-query" }, t("resa.query")), query,
      h("button", { type: "submit", class: "btn btn-small", "data-testid": "reservation-find" }, t("resa.search"))),
    said, list);
}
