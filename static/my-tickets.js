// "My tickets" (my-tickets.html): without a link, a form that asks for a sign-in link by
// e-mail (the answer is the same for every address); with one (my-tickets.html#<link>, from
// the e-mail), the list of the address's orders, each opening its private order page.
// The link stays in the URL fragment (never sent in requests or referrers) and travels to
// the server in request bodies only.
import { h } from "./dom.js";
import { applyTranslations, languageSwitcher, locale, register, t } from "./i18n.js";

register({
  fr: {
    "mine.loading": "Chargement…",
    "mine.title": "Mes billets",
    "mine.intro": "Indiquez l'adresse e-mail de vos commandes : nous vous envoyons un lien de connexion, valable 30 minutes, qui affiche toutes vos commandes.",
    "mine.email": "Adresse e-mail",
    "mine.send": "Recevoir le lien",
    "mine.sent": "Si cette adresse a passé commande, un lien vient de lui être envoyé. Il est valable {minutes} minutes.",
    "mine.invalid": "Cette adresse e-mail n'est pas valable.",
    "mine.tooMany": "Trop de demandes pour cette adresse. Réessayez dans {minutes} min.",
    "mine.network": "Le serveur ne répond pas. Vérifiez la connexion et réessayez.",
    "mine.ordersOf": "Commandes de {email}",
    "mine.none": "Aucune commande pour cette adresse.",
    "mine.order": "Commande n° {id}",
    "mine.tickets": "{count} billet(s)",
    "mine.products": "{count} abonnement(s) ou article(s)",
    "mine.noSession": "Abonnements et articles",
    "mine.orderedOn": "commandée le {date}",
    "mine.open": "Ouvrir la commande n° {id}",
    "mine.expires": "Ce lien reste valable jusqu'à {time}.",
    "mine.signOut": "Se déconnecter (fermer ce lien)",
    "mine.signedOut": "Ce lien est fermé. Vous pouvez en demander un nouveau.",
    "mine.expired": "Ce lien a expiré. Demandez-en un nouveau ci-dessous.",
    "mine.revoked": "Ce lien a été fermé. Demandez-en un nouveau ci-dessous.",
    "mine.unknown": "Ce lien n'est pas valable. Demandez-en un nouveau ci-dessous.",
    "mine.back": "Retour à la billetterie",
    "mine.status.confirmed": "✓ Payée",
    "mine.status.pending": "⏳ Paiement en attente",
    "mine.status.failed": "✗ Paiement échoué",
    "mine.status.refunded": "↩ Remboursée",
  },
  en: {
    "mine.loading": "Loading…",
    "mine.title": "My tickets",
    "mine.intro": "Enter the e-mail address of your orders: we send you a sign-in link, valid for 30 minutes, that shows all your orders.",
    "mine.email": "E-mail address",
    "mine.send": "Send me the link",
    "mine.sent": "If this address placed an order, a link has just been sent to it. It is valid for {minutes} minutes.",
    "mine.invalid": "This e-mail address is not valid.",
    "mine.tooMany": "Too many requests for this address. Try again in {minutes} min.",
    "mine.network": "The server does not answer. Check the connection and try again.",
    "mine.ordersOf": "Orders of {email}",
    "mine.none": "No order for this address.",
    "mine.order": "Order no. {id}",
    "mine.tickets": "{count} ticket(s)",
    "mine.products": "{count} pass(es) or article(s)",
    "mine.noSession": "Passes and articles",
    "mine.orderedOn": "ordered on {date}",
    "mine.open": "Open order no. {id}",
    "mine.expires": "This link works until {time}.",
    "mine.signOut": "Sign out (close this link)",
    "mine.signedOut": "This link is closed. You may ask for a new one.",
    "mine.expired": "This link has expired. Ask for a new one below.",
    "mine.revoked": "This link was closed. Ask for a new one below.",
    "mine.unknown": "This link is not valid. Ask for a new one below.",
    "mine.back": "Back to the ticket shop",
    "mine.status.confirmed": "✓ Paid",
    "mine.status.pending": "⏳ Payment pending",
    "mine.status.failed": "✗ Payment failed",
    "mine.status.refunded": "↩ Refunded",
  },
});

const box = document.getElementById("my-tickets");
const token = () => decodeURIComponent(location.hash.replace(/^#/, ""));
let redraw = () => {};

async function post(path, body) {
  try {
    const r = await fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
    });
    const data = await r.json().catch(() => null);
    return { status: r.status, data, retryAfter: Number(r.headers.get("retry-after")) || 60 };
  } catch {
    return { status: 0, data: null };
  }
}

const when = (iso, style) => new Date(iso).toLocaleString(locale(), style);
const money = (cents, currency) =>
  new Intl.NumberFormat(locale(), { style: "currency", currency }).format(cents / 100);

function askForm(notice) {
  const note = h("p", { class: "order-state", "data-testid": "mine-notice", role: "status" },
    notice || "");
  note.hidden = !notice;
  const input = h("input", { id: "mine-email", type: "email", name: "email", required: true,
    autocomplete: "email", maxlength: 254, "data-testid": "mine-email" });
  const form = h("form", { class: "buy-form", "data-testid": "mine-form", novalidate: true },
    h("label", { for: "mine-email" }, t("mine.email")), input,
    h("button", { type: "submit", class: "btn btn-primary", "data-testid": "mine-send" },
      t("mine.send")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const r = await post("/api/my-tickets/link", { email: input.value.trim() });
    note.hidden = false;
    if (r.status === 202) note.textContent = t("mine.sent", { minutes: r.data.valid_minutes });
    else if (r.status === 429) note.textContent = t("mine.tooMany", { minutes: Math.ceil(r.retryAfter / 60) });
    else if (r.status === 400) note.textContent = t("mine.invalid");
    else note.textContent = t("mine.network");
    box.dataset.state = r.status === 202 ? "sent" : "refused";
  });
  box.dataset.state = "ask";
  box.replaceChildren(h("h1", {}, t("mine.title")), h("p", {}, t("mine.intro")), note, form,
    h("p", {}, h("a", { href: "/" }, t("mine.back"))));
  redraw = () => askForm(notice);
}

function orderItem(o) {
  const s = o.session; // none for a cart of passes and articles only
  const what = [o.tickets ? t("mine.tickets", { count: o.tickets }) : null,
    o.products ? t("mine.products", { count: o.products }) : null].filter(Boolean);
  return h("li", { class: "order-ticket mine-order", "data-testid": "mine-order",
    "data-order-id": o.id, "data-status": o.status },
  h("p", {}, h("strong", {}, s ? s.event_name : t("mine.noSession"))),
  s ? h("p", {}, when(s.starts_at, { dateStyle: "full", timeStyle: "short" }), " · ", s.room) : null,
  h("p", { class: "mine-status", "data-testid": "mine-status" }, t(`mine.status.${o.status}`)),
  h("p", {}, [...what, money(o.total_cents, o.currency)].join(" · ")),
  h("p", { class: "small muted" }, t("mine.order", { id: o.id }), " · ",
    t("mine.orderedOn", { date: when(o.created_at, { dateStyle: "medium" }) })),
  h("p", {}, h("a", { class: "btn", href: `/order.html#${o.link}`, "data-testid": "mine-open" },
    t("mine.open", { id: o.id }))));
}

function showOrders(body) {
  const signOut = h("button", { type: "button", class: "btn", "data-testid": "mine-sign-out" },
    t("mine.signOut"));
  signOut.addEventListener("click", async () => {
    await post("/api/my-tickets/sign-out", { token: token() });
    history.replaceState(null, "", location.pathname);
    askForm(t("mine.signedOut"));
  });
  box.dataset.state = "orders";
  box.replaceChildren(
    h("h1", {}, t("mine.title")),
    h("p", {}, t("mine.ordersOf", { email: body.email })),
    body.orders.length
      ? h("ul", { class: "order-tickets", "data-testid": "mine-orders" }, body.orders.map(orderItem))
      : h("p", { "data-testid": "mine-none" }, t("mine.none")),
    h("p", { class: "small muted" }, t("mine.expires", { time: when(body.expires_at, { timeStyle: "short" }) })),
    h("p", {}, signOut, " ", h("a", { href: "/" }, t("mine.back"))));
  redraw = () => showOrders(body);
}

async function show() {
  if (!token()) return askForm();
  const r = await post("/api/my-tickets/orders", { token: token() });
  if (r.status === 200) return showOrders(r.data);
  const code = r.data && r.data.error && r.data.error.code;
  const why = { link_expired: "mine.expired", link_revoked: "mine.revoked" }[code] ||
    (r.status === 0 ? "mine.network" : "mine.unknown");
  askForm(t(why));
}

const tools = h("div", { class: "topbar-tools" }, languageSwitcher(() => redraw()));
document.querySelector(".topbar").append(tools);
applyTranslations();
window.addEventListener("hashchange", show);
show();
