// The e-shop's basket: the tariffs a seat or place may take, the basket's lines and total
// (also in the phone's bottom bar, shop-bar.js), the cart list with its tariff choice and
// remove buttons, and the general-admission panel (a stepper of places). Draws again whenever
// the hold changes (`onHoldChange`, shop-hold.js).

import { showBasketBar } from "./shop-bar.js";
import { t as tr } from "./i18n.js";
import { store } from "./shop-api.js";
import { addToHold, enqueue, onHoldChange, releaseSeats, seatName, tick, view } from "./shop-hold.js";
import { $, h, money, onSale } from "./shop-util.js";

/** The tariffs on sale for a seat of ``category`` (any category for a place): active, and
 * bound to no category or to this one (the server refuses the others: tariff_not_for_seat). */
function tariffList(category) {
  return (view?.detail?.tariffs || []).filter((t) => t.active !== false
    && (category === undefined || !t.categories?.length || t.categories.includes(category)));
}

function tariffFor(key, category) {
  const tariffs = tariffList(category);
  const chosen = Number(key);
  return tariffs.find((t) => t.id === chosen) || tariffs[0];
}

function seatCategory(v, id) {
  const i = v.map ? v.map.indexOf(id) : -1;
  return i < 0 ? undefined : v.map.seat(i).category;
}

/** Lines of the basket: {key, label, category, tariff} per seat or place. */
export function basketLines(v) {
  const lines = v.mine.map((id) => {
    const category = seatCategory(v, id);
    return { key: id, label: seatName(v, id), category, tariff: tariffFor(v.tariffs[id], category) };
  });
  const places = v.tariffs.places || [];
  for (let i = 0; i < v.places; i++) {
    lines.push({ key: `place-${i}`, place: i, label: tr("shop.place", { n: i + 1 }), tariff: tariffFor(places[i]) });
  }
  return lines;
}

function renderTotal() {
  const v = view;
  const lines = basketLines(v);
  const currency = lines[0]?.tariff?.currency || "EUR";
  const total = lines.reduce((sum, l) => sum + (l.tariff?.price_cents || 0), 0);
  $("cart-total").textContent = money(total, currency);
  showBasketBar(lines.length, money(total, currency));
  for (const l of lines) {
    const line = document.querySelector(`[data-line-key="${CSS.escape(l.key)}"]`);
    const el = line?.querySelector(".line-price");
    if (el && l.tariff) el.textContent = money(l.tariff.price_cents, l.tariff.currency);
    const note = line?.querySelector(".line-note");
    if (note) {
      note.textContent = l.tariff?.note || "";
      note.hidden = !l.tariff?.note;
    }
  }
}

export function renderCart() {
  const v = view;
  if (!v) return;
  const lines = basketLines(v);
  const items = $("cart-items");
  items.replaceChildren(...lines.map((l) => {
    const select = h("select", {
      "aria-label": tr("shop.tariffFor", { label: l.label }), "data-testid": "tariff-select",
      onchange: (e) => {
        if (l.place !== undefined) {
          const places = v.tariffs.places || [];
          places[l.place] = Number(e.target.value);
          v.tariffs.places = places;
        } else {
          v.tariffs[l.key] = Number(e.target.value);
        }
        store.setTariffs(v.id, v.tariffs);
        renderTotal();
      },
    }, tariffList(l.category).map((t) => h("option", { value: t.id, selected: t.id === l.tariff?.id },
      `${t.name} (${money(t.price_cents, t.currency)})`)));
    const noteId = `note-${l.key}`;
    select.setAttribute("aria-describedby", noteId);
    const remove = h("button", {
      type: "button", class: "btn-icon", "aria-label": tr("shop.removeLine", { label: l.label }), title: tr("shop.remove"),
      onclick: () => (l.place !== undefined
        ? enqueue(() => releaseSeats(v, [], 1))
        : enqueue(() => releaseSeats(v, [l.key]))),
    }, "×");
    return h("li", {
      class: "cart-item", "data-testid": "cart-item", "data-line-key": l.key,
      "data-seat-id": l.place === undefined ? l.key : null,
    },
    h("span", { class: "line-label" }, l.label),
    select,
    h("span", { class: "line-price" }),
    remove,
    h("span", { class: "line-note muted", id: noteId, "data-testid": "tariff-note", hidden: true }));
  }));
  const empty = lines.length === 0;
  $("cart-empty").hidden = !empty;
  $("cart-empty").textContent = v.seated
    ? tr("shop.emptySeated")
    : tr("shop.emptyGa");
  $("cart-summary").hidden = empty;
  $("buy").disabled = empty || v.buying;
  $("buy").textContent = v.buying ? tr("shop.buying") : tr("shop.buyN", { n: lines.length });
  renderTotal();
  tick();
}

// -- general admission --------------------------------------------------------------------------

export function renderGaPanel() {
  const v = view;
  const panel = $("ga-panel");
  panel.hidden = false;
  const free = v.gauge ? v.gauge.free : null;
  const closed = !onSale(v.detail);
  panel.replaceChildren(
    h("h2", {}, tr("shop.ga")),
    h("p", { class: "muted" }, tr("shop.gaAbout"), " ",
      free === null ? "" : free === 0 ? tr("shop.gaNone") : tr("shop.gaLeft", { free })),
    h("div", { class: "stepper", role: "group", "aria-label": tr("shop.count") },
      h("button", {
        type: "button", class: "btn", "aria-label": tr("shop.less"), "data-testid": "ga-minus",
        disabled: v.places === 0 || closed, onclick: () => enqueue(() => releaseSeats(v, [], 1)),
      }, "−"),
      h("output", { class: "stepper-value", "data-testid": "ga-quantity", "aria-live": "polite" },
        String(v.places)),
      h("button", {
        type: "button", class: "btn", "aria-label": tr("shop.more"), "data-testid": "ga-plus",
        disabled: closed || free === 0 || v.places >= 50,
        onclick: () => enqueue(() => addToHold(v, { quantity: 1 })),
      }, "+")),
  );
}


onHoldChange({ cart: renderCart, gaPanel: renderGaPanel });
