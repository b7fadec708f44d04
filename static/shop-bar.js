// The basket summary that stays at the bottom of a phone's screen while the buyer looks at the
// seat map (index.html #basket-bar; shown by CSS only at phone width): how many tickets, the
// total, the hold's countdown (in words and figures, not colour alone) and a button that
// brings the basket into view.

import { register, t } from "./i18n.js";

register({
  fr: {
    "bar.tickets": ({ n }) => `${n} billet${n > 1 ? "s" : ""}`,
    "bar.open": "Voir le panier",
    "bar.urgent": "Moins d'une minute !",
  },
  en: {
    "bar.tickets": ({ n }) => `${n} ticket${n === 1 ? "" : "s"}`,
    "bar.open": "View basket",
    "bar.urgent": "Less than a minute!",
  },
});

const $ = (id) => document.getElementById(id);

/** Show the bar for `count` tickets (hidden when 0) and their total, already formatted. */
export function showBasketBar(count, total) {
  const bar = $("basket-bar");
  if (!bar) return;
  bar.hidden = count === 0;
  $("bar-count").textContent = t("bar.tickets", { n: count });
  $("bar-total").textContent = total;
  $("bar-open").textContent = t("bar.open");
}

/** The hold's countdown ("mm:ss"); `urgent` in its last minute. */
export function tickBasketBar(clock, urgent) {
  const bar = $("basket-bar");
  if (!bar) return;
  $("bar-countdown").textContent = clock;
  bar.classList.toggle("urgent", urgent);
  $("bar-urgent").textContent = urgent ? t("bar.urgent") : "";
}

/** Wire the bar's button: scroll the basket into view and move the focus there. */
export function wireBasketBar() {
  $("bar-open")?.addEventListener("click", () => {
    const cart = $("cart");
    cart.scrollIntoView({ block: "start", behavior: "smooth" });
    $("cart-title").focus({ preventScroll: true });
  });
}
