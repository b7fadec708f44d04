// The buyer's order page (order.html#<private link>): the payment's outcome, then each
// ticket's QR code, seat, tariff and session, with a PDF of all tickets and one per ticket.
// Coming back from the payment provider, it asks the server to check the payment once
// (the provider's webhook may be late), then polls while the payment is pending.
import { h } from "./dom.js";
import { keepForOffline, registerServiceWorker } from "./pwa.js";
import { applyTranslations, languageSwitcher, locale, register, t } from "./i18n.js";

register({
  fr: {
    "order.loading": "Chargement…",
    "order.title": "Votre commande n° {id}",
    "order.pending": "Paiement en cours… Cette page se met à jour dès que le paiement est confirmé.",
    "order.pay": "Reprendre le paiement",
    "order.failed": "Le paiement n'a pas abouti : rien n'a été débité et les places ont été libérées.",
    "order.refunded": "Le paiement est arrivé après la libération des places, qui ont été prises entre-temps : il a été remboursé automatiquement.",
    "order.confirmed": "Paiement confirmé. Présentez le code QR de chaque billet à l'entrée.",
    "order.unknown": "Ce lien ne correspond à aucune commande.",
    "order.back": "Retour à la billetterie",
    "order.keep": "Gardez ce lien privé : il donne accès à vos billets.",
    "order.allPdf": "Tous les billets (PDF)",
    "order.onePdf": "Billet en PDF",
    "order.seat": "Place {seat}",
    "order.row": "rang {row}",
    "order.ga": "Placement libre",
    "order.qr": "Code QR du billet {id}",
    "order.wallet": "Porte-monnaie : solde et historique",
    "order.total": "Total",
    "order.mine": "Toutes mes commandes",
    "order.products": "Abonnements et articles",
    "order.qty": "{n} ×",
  },
  en: {
    "order.loading": "Loading…",
    "order.title": "Your order no. {id}",
    "order.pending": "Payment in progress… This page updates as soon as the payment is confirmed.",
    "order.pay": "Resume the payment",
    "order.failed": "The payment did not go through: nothing was charged and the seats were released.",
    "order.refunded": "The payment came after the seats were released and taken by someone else: it was refunded automatically.",
    "order.confirmed": "Payment confirmed. Show each ticket's QR code at the door.",
    "order.unknown": "This link matches no order.",
    "order.back": "Back to the ticket shop",
    "order.keep": "Keep this link private: it opens your tickets.",
    "order.allPdf": "All tickets (PDF)",
    "order.onePdf": "Ticket as PDF",
    "order.seat": "Seat {seat}",
    "order.row": "row {row}",
    "order.ga": "Unreserved seating",
    "order.qr": "QR code of ticket {id}",
    "order.wallet": "Wallet: balance and history",
    "order.total": "Total",
    "order.mine": "All my orders",
    "order.products": "Passes and articles",
    "order.qty": "{n} ×",
  },
});

const POLL_MS = 1500;
const POLL_FOR_MS = 10 * 60 * 1000;
const link = decodeURIComponent(location.hash.replace(/^#/, ""));
const base = `/api/orders/by-link/${encodeURIComponent(link)}`;
const box = document.getElementById("order-view");
let last = null;

function money(cents, currency) {
  return new Intl.NumberFormat(locale(), { style: "currency", currency }).format(cents / 100);
}

function when(iso) {
  return new Date(iso).toLocaleString(locale(), { dateStyle: "full", timeStyle: "short" });
}

async function load(method = "GET", path = "") {
  const r = await fetch(base + path, { method, headers: { accept: "application/json" } });
  if (!r.ok) return { error: r.status };
  return { order: await r.json() };
}

function sessionLine(s) {
  return h("p", { class: "order-session", "data-testid": "ticket-session" },
    h("strong", {}, s.event_name), " · ", when(s.starts_at), " · ", s.room);
}

/** Whether the order's tickets are of more than one session (a cart's order). */
function manySessions(order) {
  return new Set(order.tickets.map((ticket) => ticket.session?.id)).size > 1;
}

function ticketItem(order, ticket) {
  const place = ticket.seat
    ? [t("order.seat", { seat: ticket.seat }), ticket.row ? t("order.row", { row: ticket.row }) : null]
      .filter(Boolean).join(", ")
    : t("order.ga");
  return h("li", { class: "order-ticket", "data-testid": "order-ticket",
    "data-seat-id": ticket.seat_id || null, "data-ticket-id": ticket.id },
  ticket.code
    ? h("img", { class: "order-qr", "data-testid": "ticket-qr", width: 196, height: 196,
      src: `${base}/tickets/${ticket.id}?format=svg`, alt: t("order.qr", { id: ticket.id }) })
    : null,
  manySessions(order) && ticket.session ? sessionLine(ticket.session) : null,
  h("p", { class: "order-seat" }, h("strong", {}, place)),
  h("p", {}, ticket.tariff, " · ", money(ticket.price_cents, order.currency)),
  h("p", { class: "small muted" }, `#${ticket.id}`),
  ticket.code
    ? h("a", { href: `${base}/tickets/${ticket.id}?format=pdf`, download: `ticket-${ticket.id}.pdf`,
      "data-testid": "ticket-pdf" }, t("order.onePdf"))
    : null,
  // the ticket's code is its wallet's key: the wallet page keeps it in the fragment
  ticket.code
    ? h("a", { href: `/wallet.html#code=${encodeURIComponent(ticket.code)}`,
      "data-testid": "ticket-wallet" }, t("order.wallet"))
    : null);
}

function render(order) {
  last = order;
  const s = order.session;
  const parts = [
    h("h1", {}, t("order.title", { id: order.id })),
    s && !manySessions(order) ? sessionLine(s) : null,
    h("p", {}, t("order.total"), " : ", money(order.total_cents, order.currency)),
  ];
  const message = h("p", { class: `order-state order-${order.status}`, "data-testid": "order-state" },
    t(`order.${order.status}`));
  parts.push(message);
  if (order.status === "pending" && order.payment_url) {
    parts.push(h("p", {}, h("a", { class: "btn", href: order.payment_url }, t("order.pay"))));
  }
  if (order.status === "confirmed") {
    parts.push(
      h("p", {}, h("a", { class: "btn btn-primary", href: `${base}/tickets.pdf`,
        download: `tickets-${order.id}.pdf`, "data-testid": "tickets-pdf" }, t("order.allPdf"))),
      h("ul", { class: "order-tickets", "data-testid": "order-tickets" },
        order.tickets.map((ticket) => ticketItem(order, ticket))),
    );
    if (order.products?.length) {
      parts.push(h("h2", {}, t("order.products")),
        h("ul", { class: "order-products", "data-testid": "order-products" },
          order.products.map((p) => h("li", { "data-testid": "order-product" },
            t("order.qty", { n: p.quantity }), " ", h("strong", {}, p.description), " · ",
            money(p.gross_cents, order.currency)))));
    }
    parts.push(h("p", { class: "small muted" }, t("order.keep")));
  }
  parts.push(h("p", {}, h("a", { href: "/" }, t("order.back")), " · ",
    h("a", { href: "/my-tickets.html", "data-testid": "order-mine" }, t("order.mine"))));
  box.dataset.status = order.status;
  box.replaceChildren(...parts.filter(Boolean));
}

function unknown() {
  box.dataset.status = "unknown";
  box.replaceChildren(h("p", { "data-testid": "order-state" }, t("order.unknown")),
    h("p", {}, h("a", { href: "/" }, t("order.back"))));
}

async function boot() {
  const tools = h("div", { class: "topbar-tools" }, languageSwitcher(() => last && render(last)));
  document.querySelector(".topbar").append(tools);
  applyTranslations();
  let { order, error } = await load();
  if (error) return unknown();
  if (order.status === "pending") ({ order } = await load("POST", "/return"));
  if (!order) return unknown();
  render(order);
  keepAtTheDoor(order);
  const until = Date.now() + POLL_FOR_MS;
  while (last.status === "pending" && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const next = await load();
    if (next.order) {
      render(next.order);
      keepAtTheDoor(next.order);
    }
  }
}

/** A paid order's data and QR codes, kept by the service worker for the door (sw.js). */
async function keepAtTheDoor(order) {
  if (order.status !== "confirmed" || !navigator.onLine) return;
  const urls = [base, ...order.tickets.filter((ticket) => ticket.code)
    .map((ticket) => `${base}/tickets/${ticket.id}?format=svg`)];
  box.dataset.offline = (await keepForOffline(urls)) ? "ready" : "unavailable";
}

registerServiceWorker();
boot();
