// "Last sales" of the open register session (GET /api/register-sessions/{id}/journal, newest
// first): each sale with a reprint of its receipt and a refund, whole or one line
// (POST /api/journal/{id}/refund), paid back in cash or by card. A refund is a new entry.

import { h } from "./dom.js";
import { register, t } from "./i18n.js";
import { changeBanner, receiptPaper, showDoc } from "./pos-receipt.js";
import { money, timeOf } from "./pos-util.js";
import { api, can, errorText, notify } from "./session.js";
import { refusalText } from "./wallet-text.js";

register({
  fr: {
    "jr.title": "Dernières ventes",
    "jr.refresh": "Actualiser",
    "jr.none": "Aucune vente dans cette session de caisse.",
    "jr.more": "Plus ancien",
    "jr.receipt": "Reçu n° {n}",
    "jr.sale": "Vente",
    "jr.refund": "Remboursement",
    "jr.topup": "Rechargement de porte-monnaie",
    "jr.refundOf": "Remboursement du reçu n° {n}",
    "jr.reprint": "Réimprimer",
    "jr.refundAll": "Rembourser tout",
    "jr.refundLine": "Rembourser cette ligne",
    "jr.refunded": "remboursé",
    "jr.method": "Rembourser en",
    "jr.confirmAll": "Rembourser toute la vente ({amount}) ?",
    "jr.confirmLine": "Rembourser « {line} » ({amount}) ?",
    "jr.confirm": "Confirmer le remboursement",
    "jr.cancel": "Annuler",
    "jr.done": "Remboursement enregistré : reçu n° {n}, {amount} rendus en {method}.",
    "jr.noRight": "Votre compte ne permet pas de rembourser.",
    "jr.payback": "À rendre au client",
  },
  en: {
    "jr.title": "Last sales",
    "jr.refresh": "Refresh",
    "jr.none": "No sale in this register session.",
    "jr.more": "Older",
    "jr.receipt": "Receipt no. {n}",
    "jr.sale": "Sale",
    "jr.refund": "Refund",
    "jr.topup": "Wallet top-up",
    "jr.refundOf": "Refund of receipt no. {n}",
    "jr.reprint": "Reprint",
    "jr.refundAll": "Refund all",
    "jr.refundLine": "Refund this line",
    "jr.refunded": "refunded",
    "jr.method": "Pay back in",
    "jr.confirmAll": "Refund the whole sale ({amount})?",
    "jr.confirmLine": "Refund “{line}” ({amount})?",
    "jr.confirm": "Confirm the refund",
    "jr.cancel": "Cancel",
    "jr.done": "Refund recorded: receipt no. {n}, {amount} paid back in {method}.",
    "jr.noRight": "Your account may not refund.",
    "jr.payback": "Pay back to the customer",
  },
});

const PAGE = 20;

export function mountJournal(ctx, root) {
  const list = h("ol", { class: "records journal", "data-testid": "journal" });
  const result = h("p", { class: "form-ok", role: "status", "data-testid": "refund-result", hidden: true });
  const more = h("button", { type: "button", class: "btn btn-small", hidden: true, onclick: () => load(offset) },
    t("jr.more"));
  let offset = 0;
  let entries = [];
  const mayRefund = can(ctx.user, "refund.own_register", "refund.any");

  root.replaceChildren(
    h("div", { class: "record-head" }, h("h2", {}, t("jr.title")),
      h("button", { type: "button", class: "btn btn-small", "data-testid": "journal-refresh",
        onclick: () => load(0) }, `↻ ${t("jr.refresh")}`)),
    result, list, more);

  async function load(from = 0) {
    const rs = ctx.registerSession();
    if (!rs) return;
    let page;
    try {
      page = await api("GET", `/api/register-sessions/${rs.id}/journal?limit=${PAGE}&offset=${from}`);
    } catch (err) {
      notify(errorText(err));
      return;
    }
    entries = from === 0 ? page.entries : [...entries, ...page.entries];
    offset = page.next_offset ?? 0;
    more.hidden = page.next_offset === null || page.next_offset === undefined;
    render();
  }

  /** Ticket ids already refunded, and units of articles given back per sale ("<sale>:<article>"),
   * from the refund entries loaded. */
  function refundedTickets() {
    const out = new Set();
    const units = new Map();
    const passes = new Set();
    for (const e of entries) {
      if (e.kind !== "refund") continue;
      for (const l of e.lines) {
        if (l.ticket_id) out.add(l.ticket_id);
        if (l.pass_id) passes.add(l.pass_id);
        if (l.article_id) {
          const k = `${e.reverses_id}:${l.article_id}`;
          units.set(k, (units.get(k) || 0) + Math.abs(l.quantity));
        }
      }
    }
    out.units = units;
    out.passes = passes;
    return out;
  }

  function receiptNoOf(id) {
    return entries.find((e) => e.id === id)?.receipt_no ?? null;
  }

  function render() {
    // a wallet top-up is listed (and reprinted) but not refunded here: docs/wallet.md
    const shown = entries.filter((e) => ["sale", "refund", "wallet_topup"].includes(e.kind));
    const refunded = refundedTickets();
    if (!shown.length) {
      list.replaceChildren(h("li", { class: "muted" }, t("jr.none")));
      return;
    }
    list.replaceChildren(...shown.map((e) => entryItem(e, refunded)));
  }

  function entryItem(e, refunded) {
    const cur = e.currency;
    const sale = e.kind === "sale";
    const confirmBox = h("div", { class: "refund-confirm", hidden: true });
    const openRefund = (ticketIds, label, amount, articles = null, passIds = null) => {
      // a sale paid from a wallet is refunded to that wallet first (at most what it paid)
      const byWallet = e.payments.some((p) => p.method === "wallet");
      const method = h("select", { "data-testid": "refund-method" },
        byWallet ? h("option", { value: "wallet" }, t("doc.method.wallet")) : null,
        h("option", { value: "cash" }, t("doc.method.cash")), h("option", { value: "card" }, t("doc.method.card")));
      const go = h("button", { type: "button", class: "btn btn-primary", "data-testid": "refund-confirm",
        onclick: () => refund(e, ticketIds, method.value, go, articles, passIds) }, t("jr.confirm"));
      confirmBox.replaceChildren(
        h("p", {}, ticketIds || articles || passIds ? t("jr.confirmLine", { line: label, amount: money(amount, cur) })
          : t("jr.confirmAll", { amount: money(amount, cur) })),
        h("label", { class: "inline-field" }, h("span", {}, t("jr.method")), method),
        h("div", { class: "row-actions" }, go,
          h("button", { type: "button", class: "btn", onclick: () => { confirmBox.hidden = true; } }, t("jr.cancel"))));
      confirmBox.hidden = false;
      go.focus();
    };
    const left = (l) => (l.article_id
      ? l.quantity - (refunded.units.get(`${e.id}:${l.article_id}`) || 0)
      : l.pass_id ? (refunded.passes.has(l.pass_id) ? 0 : 1)
        : l.ticket_id && !refunded.has(l.ticket_id) ? 1 : 0);
    const active = sale ? e.lines.filter((l) => left(l) > 0) : [];
    const lines = e.lines.map((l) => {
      const info = ctx.ticketInfo(l.ticket_id, l);
      const rest = sale ? left(l) : 0;
      const gone = sale && (l.ticket_id || l.article_id || l.pass_id) && rest <= 0;
      const label = `${l.description}${l.article_id ? ` × ${l.quantity}` : ""}${info?.seat ? ` · ${info.seat}` : ""}`;
      const unit = l.article_id ? Math.round(l.gross_cents / l.quantity) : l.gross_cents;
      const refundIt = () => (l.article_id
        ? openRefund(null, `${l.description} × ${rest}`, unit * rest, [{ article_id: l.article_id, quantity: rest }])
        : l.pass_id ? openRefund(null, label, l.gross_cents, null, [l.pass_id])
          : openRefund([l.ticket_id], label, l.gross_cents));
      return h("li", { class: "journal-line", "data-testid": "journal-line", "data-ticket-id": l.ticket_id ?? "",
        "data-article-id": l.article_id ?? "", "data-pass-id": l.pass_id ?? "" },
      h("span", {}, label), " ",
      h("span", { class: "num" }, money(l.gross_cents, cur)),
      gone ? h("span", { class: "tag tag-off", "data-testid": "line-refunded" }, t("jr.refunded")) : null,
      sale && mayRefund && rest > 0 ? h("button", { type: "button", class: "btn btn-small",
        "data-testid": "refund-line", onclick: refundIt }, t("jr.refundLine")) : null);
    });
    const actions = h("div", { class: "row-actions" },
      h("button", { type: "button", class: "btn btn-small", "data-testid": "reprint",
        onclick: () => showDoc(ctx, { title: t("jr.receipt", { n: e.receipt_no }),
          paper: receiptPaper(ctx, e, { reversedNo: receiptNoOf(e.reverses_id) }) }) }, t("jr.reprint")),
      sale && mayRefund && active.length ? h("button", { type: "button", class: "btn btn-small",
        "data-testid": "refund-all", onclick: () => openRefund(null, "", active.reduce((s, l) => s
          + (l.article_id ? Math.round((l.gross_cents / l.quantity) * left(l)) : l.gross_cents), 0)) },
      t("jr.refundAll")) : null);
    return h("li", { class: "record", "data-testid": "journal-entry", "data-kind": e.kind,
      "data-receipt-no": e.receipt_no, "data-entry-id": e.id },
    h("div", { class: "record-head" },
      h("h3", {}, `${sale ? `▦ ${t("jr.sale")}` : e.kind === "wallet_topup" ? `◈ ${t("jr.topup")}`
        : `↩ ${t("jr.refund")}`} · ${t("jr.receipt", { n: e.receipt_no })}`),
      h("span", {}, timeOf(e.created_at), " · ", h("strong", {}, money(e.total_cents, cur)))),
    e.reverses_id ? h("p", { class: "small muted" }, t("jr.refundOf", { n: receiptNoOf(e.reverses_id) ?? "?" })) : null,
    h("ul", { class: "journal-lines" }, lines),
    h("p", { class: "small muted" }, e.payments.map((p) => `${t(`doc.method.${p.method}`)} ${money(p.amount_cents, cur)}`).join(" + ")),
    actions, confirmBox);
  }

  async function refund(entry, ticketIds, method, button, articles = null, passIds = null) {
    const rs = ctx.registerSession();
    if (!rs) return;
    button.disabled = true;
    result.hidden = true;
    const body = { register_session_id: rs.id, method };
    if (ticketIds) body.ticket_ids = ticketIds;
    if (articles) body.articles = articles;
    if (passIds) body.pass_ids = passIds;
    try {
      const done = await api("POST", `/api/journal/${entry.id}/refund`, body);
      const amount = money(Math.abs(done.total_cents), done.currency);
      result.textContent = t("jr.done", { n: done.receipt_no, amount, method: t(`doc.method.${method}`) });
      result.hidden = false;
      await load(0);
      const refundEntry = entries.find((x) => x.id === done.journal_id);
      if (refundEntry) {
        showDoc(ctx, { title: t("doc.refundTitle", { n: done.receipt_no }),
          paper: receiptPaper(ctx, refundEntry, { reversedNo: entry.receipt_no }),
          banner: changeBanner(t("jr.payback"), Math.abs(done.total_cents), done.currency, "refund-banner") });
      }
    } catch (err) {
      button.disabled = false;
      notify(refusalText(err, entry.currency));
      result.textContent = "";
    }
  }

  return { load };
}
