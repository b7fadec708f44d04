// Printable documents of the cash desk: a sale or refund receipt (from its journal entry), the
// X report and the Z report. Shown in the page's document view with a choice of paper (80 mm
// thermal roll or A4) and a print button; pos.css has the @media print rules (named pages).

import { h } from "./dom.js";
import { register, t } from "./i18n.js";
import { dateTime, money, percent, signedMoney } from "./pos-util.js";

register({
  fr: {
    "doc.paper": "Papier",
    "doc.paper80": "Ticket 80 mm",
    "doc.paperA4": "A4",
    "doc.print": "Imprimer",
    "doc.back": "Retour à la caisse",
    "doc.receiptTitle": "Reçu n° {n}",
    "doc.refundTitle": "Remboursement · reçu n° {n}",
    "doc.kind.sale": "Vente",
    "doc.kind.refund": "Remboursement",
    "doc.kind.wallet_topup": "Rechargement de porte-monnaie",
    "doc.reverses": "Annule le reçu n° {n}",
    "doc.reversesEntry": "Annule l'écriture {id}",
    "doc.register": "Caisse",
    "doc.cashier": "Caissier",
    "doc.date": "Date",
    "doc.item": "Article",
    "doc.seat": "Place",
    "doc.qty": "Qté",
    "doc.rate": "TVA",
    "doc.gross": "TTC",
    "doc.net": "HT",
    "doc.tax": "TVA",
    "doc.totalNet": "Total HT",
    "doc.totalTax": "Total TVA",
    "doc.total": "Total TTC",
    "doc.taxes": "Détail de la TVA",
    "doc.payments": "Règlement",
    "doc.given": "remis {amount}",
    "doc.changeGiven": "Rendu",
    "doc.method.cash": "Espèces",
    "doc.method.card": "Carte",
    "doc.method.wallet": "Porte-monnaie",
    "doc.seal": "Empreinte",
    "doc.thanks": "Merci de votre visite",
    "doc.changeDue": "Monnaie à rendre",
    "doc.refundDue": "À rembourser",
    "doc.xTitle": "Rapport X · lecture de caisse",
    "doc.zTitle": "Rapport Z n° {n} · clôture",
    "doc.session": "Session de caisse {id}",
    "doc.opened": "Ouverture",
    "doc.closed": "Clôture",
    "doc.float": "Fonds de caisse",
    "doc.cashSales": "Ventes en espèces",
    "doc.cardSales": "Ventes par carte",
    "doc.cashRefunds": "Remboursements en espèces",
    "doc.cardRefunds": "Remboursements par carte",
    "doc.cashReceived": "Espèces encaissées (ventes − remboursements)",
    "doc.counted": "Compté",
    "doc.expected": "Attendu",
    "doc.difference": "Écart",
    "doc.over": "excédent",
    "doc.short": "manquant",
    "doc.even": "juste",
    "doc.zNumber": "Numéro Z",
    "doc.chainHead": "Tête de chaîne",
    "doc.byKind": "Écritures par type",
    "doc.entries": "Nb",
    "doc.amount": "Montant",
    "doc.cash": "Espèces",
    "doc.card": "Carte",
    "doc.tickets": "Billets par tarif",
    "doc.articles": "Articles vendus",
    "doc.blindNote": "Le montant attendu n'est pas affiché avant le comptage de clôture.",
    "kind.sale": "Ventes",
    "kind.refund": "Remboursements",
    "kind.float": "Fonds de caisse",
    "kind.credit": "Apports",
    "kind.debit": "Retraits",
    "kind.credit_error": "Corrections d'apport",
    "kind.debit_error": "Corrections de retrait",
    "kind.closing_difference": "Écart de clôture",
    "kind.wallet_topup": "Rechargements de porte-monnaie",
    "kind.wallet_debit": "Débits de porte-monnaie",
  },
  en: {
    "doc.paper": "Paper",
    "doc.paper80": "80 mm receipt",
    "doc.paperA4": "A4",
    "doc.print": "Print",
    "doc.back": "Back to the till",
    "doc.receiptTitle": "Receipt no. {n}",
    "doc.refundTitle": "Refund · receipt no. {n}",
    "doc.kind.sale": "Sale",
    "doc.kind.refund": "Refund",
    "doc.kind.wallet_topup": "Wallet top-up",
    "doc.reverses": "Reverses receipt no. {n}",
    "doc.reversesEntry": "Reverses entry {id}",
    "doc.register": "Register",
    "doc.cashier": "Cashier",
    "doc.date": "Date",
    "doc.item": "Item",
    "doc.seat": "Seat",
    "doc.qty": "Qty",
    "doc.rate": "Tax",
    "doc.gross": "Gross",
    "doc.net": "Net",
    "doc.tax": "Tax",
    "doc.totalNet": "Total net",
    "doc.totalTax": "Total tax",
    "doc.total": "Total",
    "doc.taxes": "Tax breakdown",
    "doc.payments": "Payment",
    "doc.given": "given {amount}",
    "doc.changeGiven": "Change",
    "doc.method.cash": "Cash",
    "doc.method.card": "Card",
    "doc.method.wallet": "Wallet",
    "doc.seal": "Seal",
    "doc.thanks": "Thank you for your visit",
    "doc.changeDue": "Change due",
    "doc.refundDue": "To pay back",
    "doc.xTitle": "X report · register reading",
    "doc.zTitle": "Z report no. {n} · closing",
    "doc.session": "Register session {id}",
    "doc.opened": "Opened",
    "doc.closed": "Closed",
    "doc.float": "Float",
    "doc.cashSales": "Cash sales",
    "doc.cardSales": "Card sales",
    "doc.cashRefunds": "Cash refunds",
    "doc.cardRefunds": "Card refunds",
    "doc.cashReceived": "Cash received (sales − refunds)",
    "doc.counted": "Counted",
    "doc.expected": "Expected",
    "doc.difference": "Difference",
    "doc.over": "over",
    "doc.short": "short",
    "doc.even": "even",
    "doc.zNumber": "Z number",
    "doc.chainHead": "Chain head",
    "doc.byKind": "Entries by kind",
    "doc.entries": "No.",
    "doc.amount": "Amount",
    "doc.cash": "Cash",
    "doc.card": "Card",
    "doc.tickets": "Tickets per tariff",
    "doc.articles": "Articles sold",
    "doc.blindNote": "The expected amount is not shown before the closing count.",
    "kind.sale": "Sales",
    "kind.refund": "Refunds",
    "kind.float": "Float",
    "kind.credit": "Cash in",
    "kind.debit": "Cash out",
    "kind.credit_error": "Cash-in corrections",
    "kind.debit_error": "Cash-out corrections",
    "kind.closing_difference": "Closing difference",
    "kind.wallet_topup": "Wallet top-ups",
    "kind.wallet_debit": "Wallet debits",
  },
});

const PAPER_KEY = "guichet.pos.paper";

function paperChoice() {
  try {
    return localStorage.getItem(PAPER_KEY) === "a4" ? "a4" : "80mm";
  } catch {
    return "80mm";
  }
}

/**
 * Show a document in the page's document view (#view-doc) instead of the till.
 * `banner`: a node above the paper (e.g. the change due in big figures), not printed.
 * `onClose`: after "back to the till".
 */
export function showDoc(ctx, { title, paper, banner = null, onClose = null }) {
  const view = document.getElementById("view-doc");
  let choice = paperChoice();
  const holder = h("div", { class: "paper-holder" }, paper);
  const setPaper = (value) => {
    choice = value;
    paper.classList.toggle("paper-80", value === "80mm");
    paper.classList.toggle("paper-a4", value === "a4");
    paper.dataset.paper = value;
    try {
      localStorage.setItem(PAPER_KEY, value);
    } catch {
      // private mode: the choice lasts for this document
    }
  };
  const select = h("select", { "data-testid": "paper", onchange: (e) => setPaper(e.target.value) },
    h("option", { value: "80mm", selected: choice === "80mm" }, t("doc.paper80")),
    h("option", { value: "a4", selected: choice === "a4" }, t("doc.paperA4")));
  const back = h("button", { type: "button", class: "btn", "data-testid": "doc-close",
    onclick: () => {
      view.hidden = true;
      view.replaceChildren();
      if (onClose) onClose();
      else ctx.showDesk();
    } }, t("doc.back"));
  view.replaceChildren(...[
    h("div", { class: "doc-toolbar no-print" },
      h("h1", { id: "doc-title", tabindex: "-1", "data-testid": "doc-title" }, title),
      h("div", { class: "doc-actions" },
        h("label", { class: "inline-field" }, h("span", {}, t("doc.paper")), select),
        h("button", { type: "button", class: "btn btn-primary", "data-testid": "print",
          onclick: () => window.print() }, t("doc.print")),
        back)),
    banner ? h("div", { class: "doc-banner no-print" }, banner) : null,
    holder].filter(Boolean));
  setPaper(choice);
  ctx.hideDesk();
  view.hidden = false;
  document.getElementById("doc-title").focus();
}

function row(label, value, attrs = {}) {
  return h("tr", attrs, h("th", { scope: "row" }, label), h("td", { class: "num" }, value));
}

function methodName(method) {
  return t(`doc.method.${method}`);
}

/** The paper of a sale or refund entry (JournalEntry). `info(ticketId)` names its seat. */
export function receiptPaper(ctx, entry, { reversedNo = null } = {}) {
  const cur = entry.currency;
  const reg = ctx.registerOf(entry.register_id);
  const refund = entry.kind === "refund";
  const byRate = new Map();
  for (const l of entry.lines) {
    const r = byRate.get(l.tax_rate_bp) || { net: 0, tax: 0, gross: 0 };
    r.net += l.net_cents;
    r.tax += l.tax_cents;
    r.gross += l.gross_cents;
    byRate.set(l.tax_rate_bp, r);
  }
  const lines = entry.lines.map((l) => {
    const info = ctx.ticketInfo(l.ticket_id, l);
    return h("tr", { "data-testid": "receipt-line", "data-ticket-id": l.ticket_id ?? "" },
      h("td", {}, h("span", { class: "line-desc" }, l.description),
        info?.event ? h("span", { class: "line-sub" }, info.event) : null,
        info?.seat ? h("span", { class: "line-sub", "data-testid": "receipt-seat" },
          `${t("doc.seat")} : ${info.seat}`) : null),
      h("td", { class: "num" }, String(l.quantity)),
      h("td", { class: "num" }, percent(l.tax_rate_bp)),
      h("td", { class: "num a4-only" }, money(l.net_cents, cur)),
      h("td", { class: "num a4-only" }, money(l.tax_cents, cur)),
      h("td", { class: "num" }, money(l.gross_cents, cur)));
  });
  return h("article", { class: "paper", "data-testid": "receipt", "data-receipt-no": entry.receipt_no },
    h("header", { class: "paper-head" },
      h("p", { class: "paper-brand" }, "◆ Guichet"),
      reg ? h("p", {}, reg.point_of_sale) : null,
      h("p", { class: "paper-title" },
        t(refund || entry.kind === "wallet_topup" ? `doc.kind.${entry.kind}` : "doc.kind.sale"), " · ",
        h("span", { "data-testid": "receipt-no" }, t("doc.receiptTitle", { n: entry.receipt_no }))),
      refund && entry.reverses_id ? h("p", {}, reversedNo
        ? t("doc.reverses", { n: reversedNo }) : t("doc.reversesEntry", { id: entry.reverses_id })) : null),
    h("table", { class: "paper-meta" }, h("tbody", {},
      row(t("doc.register"), reg ? reg.name : `#${entry.register_id}`),
      row(t("doc.cashier"), ctx.cashierName(entry.cashier_id)),
      row(t("doc.date"), dateTime(entry.created_at)))),
    h("table", { class: "paper-lines" },
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, t("doc.item")), h("th", { scope: "col", class: "num" }, t("doc.qty")),
        h("th", { scope: "col", class: "num" }, t("doc.rate")),
        h("th", { scope: "col", class: "num a4-only" }, t("doc.net")),
        h("th", { scope: "col", class: "num a4-only" }, t("doc.tax")),
        h("th", { scope: "col", class: "num" }, t("doc.gross")))),
      h("tbody", {}, lines)),
    h("table", { class: "paper-taxes" },
      h("caption", {}, t("doc.taxes")),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, t("doc.rate")), h("th", { scope: "col", class: "num" }, t("doc.net")),
        h("th", { scope: "col", class: "num" }, t("doc.tax")),
        h("th", { scope: "col", class: "num" }, t("doc.gross")))),
      h("tbody", {}, [...byRate].map(([bp, r]) => h("tr", {},
        h("td", {}, percent(bp)), h("td", { class: "num" }, money(r.net, cur)),
        h("td", { class: "num" }, money(r.tax, cur)), h("td", { class: "num" }, money(r.gross, cur)))))),
    h("table", { class: "paper-totals" }, h("tbody", {},
      row(t("doc.totalNet"), money(entry.net_cents, cur)),
      row(t("doc.totalTax"), money(entry.tax_cents, cur)),
      row(t("doc.total"), h("strong", { "data-testid": "receipt-total" }, money(entry.total_cents, cur)),
        { class: "total-row" }))),
    h("table", { class: "paper-payments", "data-testid": "receipt-payments" },
      h("caption", {}, t("doc.payments")),
      h("tbody", {}, entry.payments.flatMap((p) => [
        row(`${methodName(p.method)}${p.given_cents ? ` (${t("doc.given", { amount: money(p.given_cents, cur) })})` : ""}`,
          money(p.amount_cents, cur)),
        p.change_cents ? row(t("doc.changeGiven"), h("span", { "data-testid": "receipt-change" },
          money(p.change_cents, cur))) : null,
      ]))),
    h("footer", { class: "paper-foot" },
      h("p", {}, t("doc.thanks")),
      h("p", { class: "hash" }, `${t("doc.seal")} ${entry.hash.slice(0, 16)}…`)));
}

/** A big-figure banner: the change due after a cash sale, the amount to pay back after a refund. */
export function changeBanner(label, cents, currency, testid = "change-banner") {
  return h("p", { class: "change-banner", "data-testid": testid, role: "status" },
    h("span", {}, label), " ", h("strong", { class: "big-figure" }, money(cents, currency)));
}

function reportTables(report, cur) {
  return [
    h("table", { class: "paper-meta" }, h("tbody", {},
      row(t("doc.cashSales"), money(report.cash_sales_cents, cur)),
      row(t("doc.cardSales"), money(report.card_sales_cents, cur)),
      row(t("doc.cashRefunds"), money(report.cash_refunds_cents, cur)),
      row(t("doc.cardRefunds"), money(report.card_refunds_cents, cur)),
      row(t("doc.cashReceived"), money(report.cash_received_cents, cur)))),
    h("table", { class: "paper-lines" },
      h("caption", {}, t("doc.byKind")),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, ""),
        h("th", { scope: "col", class: "num" }, t("doc.entries")),
        h("th", { scope: "col", class: "num" }, t("doc.cash")),
        h("th", { scope: "col", class: "num" }, t("doc.card")))),
      h("tbody", {}, report.by_kind.map((k) => h("tr", { "data-kind": k.kind },
        h("td", {}, t(`kind.${k.kind}`)), h("td", { class: "num" }, String(k.entries)),
        h("td", { class: "num" }, money(k.cash_cents, cur)),
        h("td", { class: "num" }, money(k.card_cents, cur)))))),
    report.tickets_by_tariff.length ? h("table", { class: "paper-lines" },
      h("caption", {}, t("doc.tickets")),
      h("tbody", {}, report.tickets_by_tariff.map((x) => h("tr", {},
        h("td", {}, x.description), h("td", { class: "num" }, String(x.tickets)),
        h("td", { class: "num" }, money(x.gross_cents, cur)))))) : null,
    report.articles?.length ? h("table", { class: "paper-lines", "data-testid": "report-articles" },
      h("caption", {}, t("doc.articles")),
      h("tbody", {}, report.articles.map((x) => h("tr", {},
        h("td", {}, x.description), h("td", { class: "num" }, String(x.units)),
        h("td", { class: "num" }, money(x.gross_cents, cur)))))) : null,
    report.tax_by_rate.length ? h("table", { class: "paper-taxes" },
      h("caption", {}, t("doc.taxes")),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, t("doc.rate")), h("th", { scope: "col", class: "num" }, t("doc.net")),
        h("th", { scope: "col", class: "num" }, t("doc.tax")),
        h("th", { scope: "col", class: "num" }, t("doc.gross")))),
      h("tbody", {}, report.tax_by_rate.map((r) => h("tr", {},
        h("td", {}, percent(r.tax_rate_bp)), h("td", { class: "num" }, money(r.net_cents, cur)),
        h("td", { class: "num" }, money(r.tax_cents, cur)),
        h("td", { class: "num" }, money(r.gross_cents, cur)))))) : null,
  ];
}

/** The sign of a difference in words as well as figures (never by colour alone). */
export function differenceWord(cents) {
  return cents > 0 ? t("doc.over") : cents < 0 ? t("doc.short") : t("doc.even");
}

/** The X report (open session: the expected cash is withheld) or the Z report (closed). */
export function reportPaper(ctx, rs, report) {
  const cur = rs.currency;
  const reg = ctx.registerOf(rs.register_id);
  const closed = Boolean(rs.closed_at);
  const diff = rs.difference_cents ?? 0;
  return h("article", { class: "paper", "data-testid": closed ? "z-report" : "x-report" },
    h("header", { class: "paper-head" },
      h("p", { class: "paper-brand" }, "◆ Guichet"),
      reg ? h("p", {}, reg.point_of_sale) : null,
      h("p", { class: "paper-title" }, closed ? t("doc.zTitle", { n: rs.z_number }) : t("doc.xTitle"))),
    h("table", { class: "paper-meta" }, h("tbody", {},
      row(t("doc.register"), reg ? reg.name : `#${rs.register_id}`),
      row(t("doc.cashier"), ctx.cashierName(rs.cashier_id)),
      row(t("doc.session", { id: rs.id }), ""),
      row(t("doc.opened"), dateTime(rs.opened_at)),
      closed ? row(t("doc.closed"), dateTime(rs.closed_at)) : null,
      row(t("doc.float"), money(rs.opening_cents, cur)))),
    ...reportTables(report, cur),
    closed ? h("table", { class: "paper-totals", "data-testid": "z-figures" }, h("tbody", {},
      row(t("doc.counted"), h("span", { "data-testid": "z-counted" }, money(rs.counted_cents, cur))),
      row(t("doc.expected"), h("span", { "data-testid": "z-expected" }, money(rs.expected_cents, cur))),
      row(t("doc.difference"), h("strong", { "data-testid": "z-difference", "data-sign":
        diff > 0 ? "over" : diff < 0 ? "short" : "even" },
      `${signedMoney(diff, cur)} (${differenceWord(diff)})`), { class: "total-row" }),
      row(t("doc.zNumber"), h("span", { "data-testid": "z-number" }, String(rs.z_number))))) : null,
    closed ? h("p", { class: "chain-head" }, h("span", {}, `${t("doc.chainHead")} :`), " ",
      h("code", { class: "hash", "data-testid": "z-hash" }, rs.z_hash || "")) : null,
    closed ? null : h("p", { class: "small" }, t("doc.blindNote")));
}
