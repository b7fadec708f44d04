// Seated sessions at the cash desk: the live seat map (seatmap.js, as the e-shop), each seat
// offered only its category's tariffs, and "best available" (the server chooses and holds N
// seats: POST /api/sessions/{id}/holds/best). The seats go to the basket (pos-basket.js).

import { h } from "./dom.js";
import { register, t } from "./i18n.js";
import { money } from "./pos-util.js";
import { SeatMap } from "./seatmap.js";
import { notify } from "./session.js";

register({
  fr: {
    "sell.best": "Meilleures places",
    "sell.bestHelp": "Le serveur choisit les places côte à côte, au plus près de la scène.",
    "sell.bestCount": "Nombre de places",
    "sell.bestTariff": "Tarif",
    "sell.anyTariff": "Tous tarifs",
    "sell.wheelchair": "Place pour fauteuil roulant",
    "sell.bestGo": "Trouver et retenir",
    "sell.bestHeld": "{n} place(s) retenue(s) : {names}",
    "sell.mapHelp": "Touchez une place libre pour l'ajouter, touchez-la de nouveau pour la retirer. Flèches et Entrée au clavier.",
    "sell.seatName": "Rang {row}, place {label}",
    "sell.heldOther": "{where} est retenue par un autre acheteur.",
    "sell.sold": "{where} est déjà vendue.",
    "sell.unavailable": "{where} n'est pas en vente.",
    "sell.noTariff": "Aucun tarif en vente pour cette place.",
    "sell.legend.free": "Libre",
    "sell.legend.mine": "Dans le panier",
    "sell.legend.held": "Retenue ailleurs",
    "sell.legend.sold": "Vendue",
    "sell.legend.unavailable": "Indisponible",
    "sell.legend.wheelchair": "Fauteuil roulant (carré)",
  },
  en: {
    "sell.best": "Best available",
    "sell.bestHelp": "The server picks seats side by side, nearest the stage.",
    "sell.bestCount": "Number of seats",
    "sell.bestTariff": "Tariff",
    "sell.anyTariff": "Any tariff",
    "sell.wheelchair": "Wheelchair space",
    "sell.bestGo": "Find and hold",
    "sell.bestHeld": "{n} seat(s) held: {names}",
    "sell.mapHelp": "Tap a free seat to add it, tap it again to remove it. Arrow keys and Enter on a keyboard.",
    "sell.seatName": "Row {row}, seat {label}",
    "sell.heldOther": "{where} is held by another buyer.",
    "sell.sold": "{where} is sold already.",
    "sell.unavailable": "{where} is not on sale.",
    "sell.noTariff": "No tariff on sale for this seat.",
    "sell.legend.free": "Free",
    "sell.legend.mine": "In the basket",
    "sell.legend.held": "Held elsewhere",
    "sell.legend.sold": "Sold",
    "sell.legend.unavailable": "Not available",
    "sell.legend.wheelchair": "Wheelchair (square)",
  },
});

/** The tariffs on sale (for a seat of `category`, when given). */
export const activeTariffs = (detail, category) => (detail?.tariffs || []).filter((x) => x.active !== false
  && (category === undefined || !x.categories?.length || x.categories.includes(category)));

/** "Row B, seat 4" (with its zone on a plan of several zones), or the id off the map. */
export function seatName(view, id) {
  const i = view.map ? view.map.indexOf(id) : -1;
  if (i < 0) return id;
  const s = view.map.seat(i);
  return `${view.map.multiZone ? `${s.zone}, ` : ""}${t("sell.seatName", { row: s.row, label: s.label })}`;
}

function legend() {
  const item = (state, key) => h("li", {}, h("span", { class: "swatch", "data-state": state }), t(key));
  return h("ul", { class: "legend", "aria-label": "legend" },
    item("free", "sell.legend.free"), item("mine", "sell.legend.mine"),
    item("held", "sell.legend.held"), item("sold", "sell.legend.sold"),
    item("unavailable", "sell.legend.unavailable"),
    h("li", {}, h("span", { class: "swatch swatch-accessible" }), t("sell.legend.wheelchair")));
}

/** Best available and the map, appended to `box`; the map is `view.map`. */
export function mountSeated(view, box, seatMap, basket) {
  box.append(bestForm(view, basket), h("div", { class: "map-panel" },
    h("div", { class: "seatmap", "data-testid": "seatmap-container" }),
    legend(), h("p", { class: "muted small" }, t("sell.mapHelp"))));
  view.map = new SeatMap(box.querySelector(".seatmap"), {
    onSeatClick: (seat, state) => onSeat(view, seat, state, basket),
  });
  view.map.load(seatMap);
  window.__pos.seatMap = view.map;
}

function bestForm(view, basket) {
  const count = h("input", { type: "number", min: "1", max: "20", value: "2", inputmode: "numeric",
    "data-testid": "best-count", id: "best-count" });
  const tariff = h("select", { "data-testid": "best-tariff", id: "best-tariff" },
    h("option", { value: "" }, t("sell.anyTariff")),
    activeTariffs(view.detail).map((tf) => h("option", { value: tf.id },
      `${tf.name} (${money(tf.price_cents, tf.currency)})`)));
  const wheel = h("input", { type: "checkbox", "data-testid": "best-accessible" });
  return h("form", { class: "best-form", "aria-labelledby": "best-title", novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      const n = Number.parseInt(count.value, 10);
      if (!(n >= 1 && n <= 20)) {
        count.focus();
        return;
      }
      const tariffId = tariff.value ? Number(tariff.value) : null;
      const body = { quantity: n, accessible: wheel.checked };
      if (tariffId) body.tariff_id = tariffId;
      const added = await basket.hold(`/api/sessions/${view.id}/holds/best`, body);
      if (!added) return;
      for (const id of added.seats) if (tariffId) view.tariffBySeat[id] = tariffId;
      basket.addSeats(added.seats);
      basket.say(t("sell.bestHeld", { n: added.seats.length,
        names: added.seats.map((id) => seatName(view, id)).join(" ; ") }));
    } },
  h("h3", { id: "best-title" }, `★ ${t("sell.best")}`),
  h("p", { class: "muted small" }, t("sell.bestHelp")),
  h("div", { class: "best-fields" },
    h("label", { class: "field", for: "best-count" }, h("span", {}, t("sell.bestCount")), count),
    h("label", { class: "field", for: "best-tariff" }, h("span", {}, t("sell.bestTariff")), tariff),
    h("label", { class: "choice" }, wheel, h("span", {}, `♿ ${t("sell.wheelchair")}`)),
    h("button", { type: "submit", class: "btn btn-primary", "data-testid": "best-submit" }, t("sell.bestGo"))));
}

function onSeat(view, seat, state, basket) {
  if (view.overbook?.onSeat(seat, state)) return; // blocked seats: pos-overbook.js
  const where = seatName(view, seat.id);
  if (state === "free") {
    if (!activeTariffs(view.detail, seat.category).length) {
      notify(t("sell.noTariff"), "info");
      return;
    }
    basket.hold(`/api/sessions/${view.id}/holds`, { seats: [seat.id] }, [seat.id]).then((added) => {
      if (added) basket.addSeats(added.seats);
    });
  } else if (state === "mine") {
    basket.release([seat.id]);
  } else if (state === "held") notify(t("sell.heldOther", { where }), "info");
  else if (state === "sold") notify(t("sell.sold", { where }), "info");
  else notify(t("sell.unavailable", { where }), "info");
}
