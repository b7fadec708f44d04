// The e-shop's checkout: `buy` sends the basket as an order (one idempotency key per attempt),
// then either follows the payment provider's redirect (paid online; the provider sends the
// buyer back to order.html) or shows the confirmed order with its tickets (`showOrder`).

import { t as tr } from "./i18n.js";
import { api, randomKey } from "./shop-api.js";
import { basketLines, renderCart } from "./shop-basket.js";
import { addSessionToCart } from "./shop-cart.js";
import { enqueue, forgetHold, reconcile, seatName, view } from "./shop-hold.js";
import { $, h, money, showMessage } from "./shop-util.js";

/** The order's items: a seat with its tariff, or a quantity of places per tariff. */
function orderItems(lines) {
  const items = [];
  const places = new Map();
  for (const l of lines) {
    if (l.place === undefined) items.push({ seat: l.key, tariff_id: l.tariff.id });
    else places.set(l.tariff.id, (places.get(l.tariff.id) || 0) + 1);
  }
  for (const [tariff_id, quantity] of places) items.push({ tariff_id, quantity });
  return items;
}

/** "Add to cart": the session's hold and tariffs go to the cart across sessions
 * (shop-cart.js); the buyer may pick seats of another session, passes or articles, and pay
 * for everything at once. */
export async function addToCart() {
  const v = view;
  if (!v || v.buying || !v.token) return;
  const lines = basketLines(v);
  if (!lines.length) return;
  const unpriced = lines.filter((l) => !l.tariff);
  if (unpriced.length) {
    showMessage(tr("shop.noTariff", { labels: unpriced.map((l) => l.label).join("; ") }));
    return;
  }
  await enqueue(async () => {
    const r = await addSessionToCart(v.id, v.token, orderItems(lines));
    if (!r.ok) {
      showMessage(r.error?.message || tr("shop.failedBuy"));
      if (["seats_not_held", "places_not_held", "unknown_hold", "hold_expired"].includes(r.error?.code)) {
        await reconcile(v);
      }
    }
  });
}

export async function buy(event) {
  event.preventDefault();
  const v = view;
  if (!v || v.buying || !v.token) return;
  const form = $("buy-form");
  if (!form.checkValidity()) {
    form.reportValidity();
    showMessage(tr("shop.enterBuyer"), "info");
    return;
  }
  const lines = basketLines(v);
  if (!lines.length) return;
  const unpriced = lines.filter((l) => !l.tariff);
  if (unpriced.length) {
    showMessage(tr("shop.noTariff", { labels: unpriced.map((l) => l.label).join("; ") }));
    return;
  }
  const items = orderItems(lines);
  // One idempotency key per purchase attempt: a retry after a network error cannot sell twice.
  v.orderKey = v.orderKey || randomKey();
  const body = {
    hold_token: v.token,
    idempotency_key: v.orderKey,
    items,
    buyer: { name: $("buyer-name").value.trim(), email: $("buyer-email").value.trim() },
  };
  await enqueue(async () => {
    v.buying = true;
    renderCart();
    let r;
    try {
      r = await api("POST", `/api/sessions/${v.id}/orders`, body);
    } catch (err) {
      v.buying = false;
      renderCart();
      showMessage(tr("shop.networkBuy"));
      return;
    }
    v.buying = false;
    if (v.closed) return;
    if (r.ok && r.data.status === "pending" && r.data.payment?.redirect_url) {
      // Paid online: the hold stays claimed while the buyer pays; the provider sends them
      // back to the order page (order.html#<link>), which follows the payment.
      forgetHold(v);
      showMessage(tr("shop.toPayment"), "info");
      location.assign(r.data.payment.redirect_url);
      return;
    }
    if (r.ok) {
      forgetHold(v);
      showOrder(v, r.data);
      return;
    }
    const code = r.error?.code;
    if (r.status === 503) {
      renderCart();
      showMessage(tr("shop.busyBuy"));
      return;
    }
    v.orderKey = null;
    if (["seats_not_held", "places_not_held", "unknown_hold", "hold_expired"].includes(code)) {
      showMessage(tr("shop.expiredBuy"));
      await reconcile(v);
    } else if (code === "sales_closed" || code === "session_started") {
      showMessage(tr(code === "sales_closed" ? "shop.closedBuy" : "shop.startedBanner"));
    } else {
      showMessage(r.error?.message || tr("shop.failedBuy"));
    }
    renderCart();
  });
}

function showOrder(v, order) {
  const box = $("order");
  const name = (order.buyer_name || "").trim();
  box.replaceChildren(
    h("h2", { id: "order-title" }, tr("shop.thanks"), name ? `, ${name}` : "", "!"),
    h("p", {}, tr("shop.confirmed", { id: order.id, n: order.tickets.length }),
      h("strong", { "data-testid": "order-total" }, money(order.total_cents, order.currency)), "."),
    h("ul", { class: "tickets", "data-testid": "tickets" }, order.tickets.map((t) =>
      h("li", { class: "ticket", "data-testid": "ticket", "data-seat-id": t.seat_id || null },
        h("span", { class: "ticket-seat" }, t.seat_id ? seatName(v, t.seat_id) : tr("shop.ga")),
        h("span", { class: "ticket-tariff muted" }, t.tariff),
        h("span", { class: "ticket-price" }, money(t.price_cents, order.currency)),
        h("span", { class: "ticket-id muted small" }, tr("shop.ticket", { id: t.id }))))),
    order.link
      ? h("p", {}, h("a", { href: `order.html#${order.link}`, "data-testid": "order-link" },
        tr("shop.orderPage")))
      : null,
    h("p", { class: "small muted" }, tr("shop.keep")),
    h("button", {
      type: "button", class: "btn", onclick: () => {
        box.hidden = true;
        box.replaceChildren();
      },
    }, tr("shop.close")),
  );
  box.hidden = false;
  box.scrollIntoView({ behavior: "smooth", block: "start" });
  box.focus({ preventScroll: true });
}
