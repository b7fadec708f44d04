// The Wallet tab of the cash desk (permission `wallet.credit`): scan or type a pass's or
// ticket's code, see its holder and balance (POST /api/wallet), pick an amount (10, 20, 50 or
// typed), take it in cash (amount given → change due) or by card, confirm: POST
// /api/wallets/top-ups in the open register session, a `wallet_topup` journal entry whose
// receipt is printed like a sale's (pos-receipt.js), with the new balance on screen. A top-up
// is not refunded at the desk (a correction is an admin's reversal, docs/wallet.md).

import { h } from "./dom.js";
import { register, t } from "./i18n.js";
import { paymentPanel } from "./pos-pay.js";
import { changeBanner, receiptPaper, showDoc } from "./pos-receipt.js";
import { money, parseAmount, randomKey } from "./pos-util.js";
import { api, errorText, notify } from "./session.js";
import { movementName, refusalText, statusText } from "./wallet-text.js";

register({
  fr: {
    "pw.title": "Porte-monnaie électronique",
    "pw.code": "Code du billet ou de l'abonnement",
    "pw.codeHelp": "Scannez le QR code (douchette) ou saisissez-le, puis Entrée.",
    "pw.read": "Lire",
    "pw.reading": "Lecture…",
    "pw.holder": "Titulaire",
    "pw.noName": "(sans nom)",
    "pw.balance": "Solde",
    "pw.status": "État",
    "pw.last": "Derniers mouvements",
    "pw.amount": "Montant à créditer",
    "pw.other": "Autre montant",
    "pw.needCode": "Scannez d'abord le code du client.",
    "pw.needAmount": "Choisissez un montant.",
    "pw.topupTitle": "Rechargement · reçu n° {n}",
    "pw.newBalance": "Nouveau solde",
    "pw.done": "{amount} crédités : nouveau solde {balance}.",
  },
  en: {
    "pw.title": "Cashless wallet",
    "pw.code": "Ticket or pass code",
    "pw.codeHelp": "Scan the QR code (wedge scanner) or type it, then Enter.",
    "pw.read": "Read",
    "pw.reading": "Reading…",
    "pw.holder": "Holder",
    "pw.noName": "(no name)",
    "pw.balance": "Balance",
    "pw.status": "Status",
    "pw.last": "Last movements",
    "pw.amount": "Amount to put on",
    "pw.other": "Other amount",
    "pw.needCode": "Scan the customer's code first.",
    "pw.needAmount": "Choose an amount.",
    "pw.topupTitle": "Top-up · receipt no. {n}",
    "pw.newBalance": "New balance",
    "pw.done": "{amount} put on: new balance {balance}.",
  },
});

const QUICK = [1000, 2000, 5000];

export function mountWallet(ctx, root) {
  const cur = () => ctx.currency();
  let code = null;
  let wallet = null;
  let amount = 0;
  let key = randomKey();
  let busy = false;

  const input = h("input", { id: "pw-code", type: "text", autocomplete: "off", autocapitalize: "off",
    spellcheck: "false", "data-testid": "wallet-code", "aria-describedby": "pw-code-help" });
  const holder = h("div", { class: "pw-holder", "data-testid": "wallet-holder", "aria-live": "polite" });
  const quick = QUICK.map((cents) => h("button", { type: "button", class: "seg-btn note-btn",
    "data-testid": "wallet-quick", "data-cents": cents, "aria-pressed": "false",
    onclick: () => setAmount(cents, true) }, money(cents, cur())));
  const other = h("input", { id: "pw-other", type: "text", inputmode: "decimal", autocomplete: "off",
    "data-testid": "wallet-amount", oninput: () => setAmount(parseAmount(other.value) || 0, false) });
  const pay = paymentPanel({ currency: cur(), onPay: (payments, summary) => topUp(payments[0], summary) });
  pay.element.querySelector('[data-method="split"]').hidden = true; // one method per top-up

  root.replaceChildren(h("div", { class: "sell-layout" },
    h("section", { "aria-labelledby": "pw-title" },
      h("h2", { id: "pw-title" }, t("pw.title")),
      h("form", { class: "pw-scan", onsubmit: (e) => {
        e.preventDefault();
        const text = input.value.trim();
        input.value = "";
        if (text) lookUp(text);
      } },
      h("label", { class: "field", for: "pw-code" }, t("pw.code")),
      h("div", { class: "row-actions" }, input,
        h("button", { type: "submit", class: "btn", "data-testid": "wallet-read" }, t("pw.read"))),
      h("p", { id: "pw-code-help", class: "small muted" }, t("pw.codeHelp"))),
      holder),
    h("aside", { class: "basket", "aria-labelledby": "pw-amount-title" },
      h("h2", { id: "pw-amount-title" }, t("pw.amount")),
      h("div", { class: "seg quick-notes", role: "group", "aria-label": t("pw.amount") }, quick),
      h("label", { class: "field", for: "pw-other" }, t("pw.other")), other,
      pay.element)));
  render();

  function setAmount(cents, fromButton) {
    amount = cents;
    if (fromButton) other.value = "";
    for (const b of quick) b.setAttribute("aria-pressed", String(fromButton && Number(b.dataset.cents) === cents));
    pay.setTotal(code && wallet && wallet.status !== "blocked" ? amount : 0);
  }

  function render() {
    pay.setTotal(code && wallet && wallet.status !== "blocked" ? amount : 0);
    if (!wallet) {
      holder.replaceChildren(h("p", { class: "muted" }, t("pw.needCode")));
      return;
    }
    if (wallet.loading) {
      holder.replaceChildren(h("p", { class: "muted" }, t("pw.reading")));
      return;
    }
    const c = wallet.currency || cur();
    holder.replaceChildren(h("div", { class: "record" },
      h("p", {}, h("span", { class: "small muted" }, `${t("pw.holder")} `),
        h("strong", { "data-testid": "wallet-holder-name" }, wallet.holder.name || t("pw.noName"))),
      h("p", {}, h("span", { class: "small muted" }, `${t("pw.balance")} `),
        h("strong", { class: "big-figure", "data-testid": "wallet-balance" }, money(wallet.balance_cents, c))),
      h("p", { "data-testid": "wallet-status", "data-status": wallet.status },
        h("span", { class: "small muted" }, `${t("pw.status")} : `), statusText(wallet.status)),
      wallet.status === "blocked" ? h("p", { class: "form-error" }, refusalText("wallet_blocked")) : null,
      wallet.history?.length ? h("details", {}, h("summary", {}, t("pw.last")),
        h("ul", { class: "journal-lines" }, wallet.history.slice(0, 5).map((m) => h("li", { class: "journal-line" },
          h("span", {}, `${movementName(m.kind)}${m.point_of_sale ? ` · ${m.point_of_sale}` : ""}`),
          h("span", { class: "num" }, money(m.amount_cents, c)))))) : null));
  }

  async function lookUp(text) {
    code = text;
    key = randomKey();
    wallet = { loading: true };
    render();
    try {
      wallet = await api("POST", "/api/wallet", { code });
    } catch (err) {
      wallet = null;
      code = null;
      notify(refusalText(err, cur()));
    }
    render();
  }

  async function topUp(payment, summary) {
    const rs = ctx.registerSession();
    if (busy || !rs) return;
    if (!code || !wallet) return pay.showError(t("pw.needCode"));
    if (!amount) return pay.showError(t("pw.needAmount"));
    busy = true;
    pay.setBusy(true);
    const body = { idempotency_key: key, code, amount_cents: amount, method: payment.method,
      register_session_id: rs.id };
    if (payment.method === "cash" && payment.given_cents) body.given_cents = payment.given_cents;
    try {
      const done = await api("POST", "/api/wallets/top-ups", body);
      key = randomKey();
      await receipt(done, payment.method === "cash" ? summary.changeCents ?? 0 : null);
      wallet = null;
      code = null;
      amount = 0;
      pay.reset();
      setAmount(0, true);
      render();
    } catch (err) {
      if (err.code !== "network") key = randomKey(); // a lost answer is retried with its key
      pay.showError(refusalText(err, cur()), err.code);
    } finally {
      busy = false;
      pay.setBusy(false);
    }
  }

  async function receipt(done, change) {
    const rs = ctx.registerSession();
    const c = cur();
    let entry = null;
    try {
      const page = await api("GET", `/api/register-sessions/${rs.id}/journal?limit=20`);
      entry = page.entries.find((e) => e.id === done.journal_id) || null;
    } catch (err) {
      notify(errorText(err));
    }
    const balance = h("p", { class: "change-banner", role: "status", "data-testid": "wallet-new-balance" },
      h("span", {}, t("pw.newBalance")), " ",
      h("strong", { class: "big-figure" }, money(done.balance_cents, c)));
    if (!entry) {
      notify(t("pw.done", { amount: money(done.amount_cents, c), balance: money(done.balance_cents, c) }), "success");
      return;
    }
    showDoc(ctx, {
      title: t("pw.topupTitle", { n: entry.receipt_no }),
      paper: receiptPaper(ctx, entry),
      banner: h("div", {}, change !== null ? changeBanner(t("doc.changeDue"), change, c, "change-banner") : null,
        balance),
    });
  }

  return {
    close() {},
  };
}
