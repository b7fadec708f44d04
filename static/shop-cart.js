// The shop's cart across sessions (docs/shop.md): seats and places of several sessions, passes
// and articles the organiser sells online, one countdown for everything, the buyer's details
// and ONE payment. The cart lives on the server (`/api/carts/<id>`); this page keeps only its
// id (sessionStorage). `addSessionToCart` is the session view's "Add to cart"; the sticky strip
// under the top bar (#cart-strip) shows what the cart holds and its countdown on every page of
// the shop; `showCart` draws the cart page (#/cart). States are told in words, not by colour.

import { register, t as tr } from "./i18n.js";
import { api, NetworkError, randomKey, store } from "./shop-api.js";
import { $, clock, dayLabel, h, money, showMessage, timeLabel } from "./shop-util.js";

register({
  fr: {
    "cart.strip": ({ n }) => `Panier : ${n} article${n > 1 ? "s" : ""}`,
    "cart.open": "Voir le panier",
    "cart.heldFor": "Tout est réservé pour vous encore",
    "cart.urgent": "moins d'une minute !",
    "cart.title": "Votre panier, toutes séances",
    "cart.empty": "Votre panier est vide. Choisissez des places dans une séance, un abonnement ou un article.",
    "cart.expired": "Le temps est écoulé : les places de ce panier ont été libérées.",
    "cart.more": "Plus de temps",
    "cart.remove": "Retirer",
    "cart.change": "Modifier les places",
    "cart.place": "Placement libre",
    "cart.seat": "Place {seat}",
    "cart.condition": "Condition :",
    "cart.passes": "Abonnements",
    "cart.articles": "Articles",
    "cart.holder": "Titulaire : {name}",
    "cart.first": "Prénom du titulaire",
    "cart.last": "Nom du titulaire",
    "cart.photo": "Photo (facultative)",
    "cart.addPass": "Ajouter l'abonnement",
    "cart.addArticle": "Ajouter",
    "cart.quantity": "Quantité",
    "cart.left": "{n} en stock",
    "cart.offers": "Aussi en vente",
    "cart.total": "Total",
    "cart.buyer": "Vos coordonnées",
    "cart.name": "Nom",
    "cart.email": "E-mail",
    "cart.pay": "Payer",
    "cart.paying": "Paiement…",
    "cart.added": "Ajouté au panier.",
    "cart.toPay": "Redirection vers le paiement…",
    "cart.photoLarge": "La photo est trop grande : choisissez une image plus petite.",
    "cart.network": "Le réseau ne répond pas. Réessayez.",
    "cart.newCart": "Nouveau panier",
  },
  en: {
    "cart.strip": ({ n }) => `Cart: ${n} item${n === 1 ? "" : "s"}`,
    "cart.open": "View cart",
    "cart.heldFor": "Everything is held for you for",
    "cart.urgent": "less than a minute!",
    "cart.title": "Your cart, all sessions",
    "cart.empty": "Your cart is empty. Choose seats in a session, a pass or an article.",
    "cart.expired": "Time is up: the seats of this cart were released.",
    "cart.more": "More time",
    "cart.remove": "Remove",
    "cart.change": "Change seats",
    "cart.place": "Unreserved place",
    "cart.seat": "Seat {seat}",
    "cart.condition": "Condition:",
    "cart.passes": "Passes",
    "cart.articles": "Articles",
    "cart.holder": "Holder: {name}",
    "cart.first": "Holder's first name",
    "cart.last": "Holder's last name",
    "cart.photo": "Photo (optional)",
    "cart.addPass": "Add the pass",
    "cart.addArticle": "Add",
    "cart.quantity": "Quantity",
    "cart.left": "{n} in stock",
    "cart.offers": "Also on sale",
    "cart.total": "Total",
    "cart.buyer": "Your details",
    "cart.name": "Name",
    "cart.email": "E-mail",
    "cart.pay": "Pay",
    "cart.paying": "Paying…",
    "cart.added": "Added to your cart.",
    "cart.toPay": "Taking you to the payment…",
    "cart.photoLarge": "The photo is too large: choose a smaller picture.",
    "cart.network": "The network does not answer. Try again.",
    "cart.newCart": "New cart",
  },
});

const KEY = "guichet.cart";
const MAX_PHOTO_CHARS = 60000;
let cart = null; // the server's view of the cart
let offset = 0; // server clock minus local clock
let timer = null;
let shown = false; // the cart page is on screen
let offers = null;
let payKey = null; // one idempotency key per payment attempt

const GONE = ["cart_expired", "cart_checked_out", "unknown_cart"];

function forgetCart() {
  sessionStorage.removeItem(KEY);
  cart = null;
  payKey = null;
}

function setCart(data) {
  cart = data;
  offset = data.expires_at_ms - (Date.now() + data.expires_in_ms);
  renderStrip();
  if (shown) renderCartView();
}

async function load() {
  const id = sessionStorage.getItem(KEY);
  if (!id) return null;
  const r = await api("GET", `/api/carts/${id}`);
  if (r.ok) setCart(r.data);
  else forgetCart();
  return cart;
}

async function openCart() {
  if (cart && cart.status === "open") return cart.id;
  if ((await load())?.status === "open") return cart.id;
  const r = await api("POST", "/api/carts", {});
  if (!r.ok) throw new Error(r.error?.message || "cart");
  sessionStorage.setItem(KEY, r.data.id);
  setCart(r.data);
  return r.data.id;
}

/** A cart call; an expired or bought cart is left for a new one and the call made again. */
async function call(method, path, body) {
  for (let attempt = 0; attempt < 2; attempt++) {
    const id = await openCart();
    const r = await api(method, `/api/carts/${id}${path}`, body);
    if (r.ok) {
      setCart(r.data);
      return r;
    }
    if (!GONE.includes(r.error?.code)) return r;
    forgetCart();
  }
  return { ok: false, error: { code: "cart_expired" } };
}

/** The session view's "Add to cart": its hold and each seat's or place's tariff. */
export async function addSessionToCart(sessionId, token, items) {
  const r = await call("PUT", `/sessions/${sessionId}`, { hold_token: token, items });
  if (r.ok) showMessage(tr("cart.added"), "info");
  return r;
}

// -- the strip and the countdown --------------------------------------------------------------

function count(c) {
  return c.sessions.reduce((n, s) => n + s.lines.length, 0) + c.passes.length
    + c.articles.reduce((n, a) => n + a.quantity, 0);
}

function left() {
  return cart ? cart.expires_at_ms - (Date.now() + offset) : 0;
}

function renderStrip() {
  const strip = $("cart-strip");
  if (!strip) return;
  const open = cart && cart.status === "open" && count(cart) > 0;
  strip.hidden = !open;
  if (!open) return;
  $("strip-count").textContent = tr("cart.strip", { n: count(cart) });
  $("strip-total").textContent = cart.currency ? money(cart.total_cents, cart.currency) : "";
  $("strip-open").textContent = tr("cart.open");
  $("strip-held").textContent = tr("cart.heldFor");
  tick();
}

function tick() {
  if (!cart) return;
  const ms = left();
  const urgent = ms < 60000;
  for (const id of ["strip-countdown", "cart-countdown"]) {
    const el = $(id);
    if (el) el.textContent = clock(ms);
  }
  const note = urgent && ms > 0 ? tr("cart.urgent") : "";
  for (const id of ["strip-urgent", "cart-urgent"]) {
    const el = $(id);
    if (el) el.textContent = note;
  }
  $("cart-strip")?.classList.toggle("urgent", urgent);
  if (ms <= 0 && cart.status === "open") {
    cart = { ...cart, status: "expired" };
    renderStrip();
    if (shown) renderCartView();
  }
}

/** Start the strip (every page of the shop): the cart of this tab, if any, and its clock. */
export async function bootCart() {
  clearInterval(timer);
  timer = setInterval(tick, 1000);
  try {
    await load();
  } catch (err) {
    if (!(err instanceof NetworkError)) throw err;
  }
}

// -- the cart page ------------------------------------------------------------------------------

export async function showCart() {
  shown = true;
  $("view-list").hidden = true;
  $("view-session").hidden = true;
  $("view-cart").hidden = false;
  renderCartView();
  try {
    await load();
    const r = await api("GET", "/api/shop/offers");
    offers = r.ok ? r.data : { pass_types: [], articles: [] };
  } catch (err) {
    if (!(err instanceof NetworkError)) throw err;
    showMessage(tr("cart.network"));
  }
  renderCartView();
}

export function leaveCart() {
  shown = false;
  $("view-cart").hidden = true;
}

async function act(method, path, body) {
  try {
    const r = await call(method, path, body);
    if (!r.ok) showMessage(r.error?.message || r.error?.code || tr("cart.network"));
  } catch (err) {
    if (!(err instanceof NetworkError)) throw err;
    showMessage(tr("cart.network"));
  }
}

function renderCartView() {
  const box = $("cart-view");
  if (!box) return;
  const parts = [];
  const open = cart && cart.status === "open";
  if (cart && cart.status === "expired") {
    parts.push(h("p", { class: "banner", role: "status", "data-testid": "cart-expired" }, tr("cart.expired")),
      h("p", {}, h("button", { type: "button", class: "btn", onclick: () => { forgetCart(); renderStrip(); renderCartView(); } },
        tr("cart.newCart"))));
  }
  if (open && count(cart) > 0) {
    parts.push(h("p", { class: "hold-timer", "data-testid": "cart-timer" },
      h("span", {}, tr("cart.heldFor"), " "),
      h("strong", { id: "cart-countdown", role: "timer", "aria-live": "off", "data-testid": "cart-countdown" }, clock(left())),
      " ", h("span", { id: "cart-urgent" }),
      " ", h("button", { type: "button", class: "btn btn-small", "data-testid": "cart-extend",
        onclick: () => act("POST", "/extend") }, tr("cart.more"))));
  }
  if (!open || count(cart) === 0) parts.push(h("p", { class: "muted", "data-testid": "cart-empty" }, tr("cart.empty")));
  if (open) parts.push(...sessionsPart(cart), ...productsPart(cart));
  parts.push(...offersPart());
  if (open && count(cart) > 0) parts.push(buyerPart(cart));
  box.replaceChildren(...parts);
  tick();
}

function sessionsPart(c) {
  return c.sessions.map((s) => {
    const date = new Date(s.starts_at);
    return h("section", { class: "cart-session", "data-testid": "cart-session", "data-session-id": s.session_id },
      h("h3", {}, s.event_name, " · ", dayLabel(date), " ", timeLabel(date)),
      h("ul", { class: "cart-items" }, s.lines.map((l) => h("li", { class: "cart-item", "data-testid": "cart-line" },
        h("span", { class: "line-label" }, l.seat ? tr("cart.seat", { seat: l.seat }) : tr("cart.place")),
        h("span", {}, l.tariff),
        h("span", { class: "line-price" }, money(l.price_cents, s.currency)),
        l.note ? h("span", { class: "line-note muted", "data-testid": "cart-note" }, tr("cart.condition"), " ", l.note) : null))),
      h("p", {},
        h("a", { href: `#/session/${s.session_id}`, class: "btn btn-small" }, tr("cart.change")), " ",
        h("button", { type: "button", class: "btn btn-small", onclick: () => act("DELETE", `/sessions/${s.session_id}`) },
          tr("cart.remove"))));
  });
}

function productsPart(c) {
  const parts = [];
  const cur = c.currency || "EUR";
  if (c.passes.length) {
    parts.push(h("h3", {}, tr("cart.passes")), h("ul", { class: "cart-items" }, c.passes.map((p) =>
      h("li", { class: "cart-item", "data-testid": "cart-pass" },
        h("span", { class: "line-label" }, p.name),
        h("span", {}, tr("cart.holder", { name: `${p.holder_first_name} ${p.holder_last_name}` })),
        h("span", { class: "line-price" }, money(p.price_cents, cur)),
        h("button", { type: "button", class: "btn btn-small", onclick: () => act("DELETE", `/passes/${p.line_id}`) },
          tr("cart.remove"))))));
  }
  if (c.articles.length) {
    parts.push(h("h3", {}, tr("cart.articles")), h("ul", { class: "cart-items" }, c.articles.map((a) =>
      h("li", { class: "cart-item", "data-testid": "cart-article" },
        h("span", { class: "line-label" }, `${a.quantity} × ${a.name}`),
        h("span", { class: "line-price" }, money(a.price_cents * a.quantity, cur)),
        h("button", { type: "button", class: "btn btn-small",
          onclick: () => act("PUT", `/articles/${a.article_id}`, { quantity: 0 }) }, tr("cart.remove"))))));
  }
  if (count(c) > 0 && c.currency) {
    parts.push(h("p", { class: "cart-total" }, tr("cart.total"), " ",
      h("strong", { "data-testid": "cart-page-total" }, money(c.total_cents, c.currency))));
  }
  return parts;
}

function offersPart() {
  if (!offers || (!offers.pass_types.length && !offers.articles.length)) return [];
  const parts = [h("h2", {}, tr("cart.offers"))];
  for (const p of offers.pass_types) parts.push(passOffer(p));
  for (const a of offers.articles) {
    const qty = h("input", { type: "number", min: 1, max: 100, value: 1, inputmode: "numeric",
      "aria-label": `${tr("cart.quantity")} · ${a.name}`, "data-testid": "article-quantity" });
    parts.push(h("form", { class: "offer", "data-testid": "article-offer", "data-article-id": a.id,
      onsubmit: (e) => {
        e.preventDefault();
        const have = cart?.articles.find((x) => x.article_id === a.id)?.quantity || 0;
        act("PUT", `/articles/${a.id}`, { quantity: Math.min(100, have + Number(qty.value || 1)) });
      } },
    h("span", { class: "line-label" }, a.name), " ", h("span", {}, money(a.price_cents, a.currency)),
    a.stock === null ? null : h("span", { class: "muted small" }, " · ", tr("cart.left", { n: a.stock })),
    h("label", {}, h("span", { class: "sr-only" }, tr("cart.quantity")), qty),
    h("button", { type: "submit", class: "btn btn-small" }, tr("cart.addArticle"))));
  }
  return parts;
}

function passOffer(p) {
  const first = h("input", { required: true, maxlength: 100, autocomplete: "given-name", "data-testid": "pass-first" });
  const last = h("input", { required: true, maxlength: 100, autocomplete: "family-name", "data-testid": "pass-last" });
  const photo = h("input", { type: "file", accept: "image/*", "data-testid": "pass-photo" });
  return h("form", { class: "offer offer-pass", "data-testid": "pass-offer", "data-pass-type-id": p.id,
    onsubmit: async (e) => {
      e.preventDefault();
      if (!e.target.checkValidity()) return e.target.reportValidity();
      const picture = photo.files[0] ? await dataUrl(photo.files[0]) : null;
      if (picture && picture.length > MAX_PHOTO_CHARS) return showMessage(tr("cart.photoLarge"));
      await act("POST", "/passes", { pass_type_id: p.id, holder_first_name: first.value.trim(),
        holder_last_name: last.value.trim(), photo: picture });
    } },
  h("p", {}, h("strong", {}, p.name), " · ", money(p.price_cents, p.currency)),
  h("label", {}, tr("cart.first"), " ", first),
  h("label", {}, tr("cart.last"), " ", last),
  h("label", {}, tr("cart.photo"), " ", photo),
  h("button", { type: "submit", class: "btn btn-small" }, tr("cart.addPass")));
}

function dataUrl(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = reject;
    reader.readAsDataURL(file);
  });
}

function buyerPart(c) {
  const name = h("input", { id: "cart-buyer-name", required: true, maxlength: 100, autocomplete: "name", "data-testid": "cart-buyer-name" });
  const email = h("input", { id: "cart-buyer-email", type: "email", required: true, autocomplete: "email", "data-testid": "cart-buyer-email" });
  const pay = h("button", { type: "submit", class: "btn btn-primary", "data-testid": "cart-pay" }, tr("cart.pay"));
  return h("form", { class: "buy-form", "aria-label": tr("cart.buyer"), novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      if (!e.target.checkValidity()) return e.target.reportValidity();
      pay.disabled = true;
      pay.textContent = tr("cart.paying");
      try {
        await checkout(c, name.value.trim(), email.value.trim());
      } finally {
        pay.disabled = false;
        pay.textContent = tr("cart.pay");
      }
    } },
  h("h2", {}, tr("cart.buyer")),
  h("label", {}, h("span", {}, tr("cart.name")), " ", name),
  h("label", {}, h("span", {}, tr("cart.email")), " ", email),
  pay);
}

async function checkout(c, name, email) {
  payKey = payKey || randomKey();
  let r;
  try {
    r = await api("POST", `/api/carts/${c.id}/checkout`, { idempotency_key: payKey, buyer: { name, email } });
  } catch (err) {
    if (!(err instanceof NetworkError)) throw err;
    return showMessage(tr("cart.network"));
  }
  if (!r.ok) {
    payKey = null;
    showMessage(r.error?.message || r.error?.code);
    await load();
    return;
  }
  for (const s of c.sessions) store.forget(s.session_id);
  forgetCart();
  renderStrip();
  if (r.data.status === "pending" && r.data.payment?.redirect_url) {
    showMessage(tr("cart.toPay"), "info");
    location.assign(r.data.payment.redirect_url);
  } else {
    location.assign(`order.html#${r.data.link}`);
  }
}
