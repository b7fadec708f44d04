// The "Wallet" method of the desk's payment panel (pos-pay.js): the cashier scans or types
// the holder's pass or ticket code, sees the holder's name, balance and status
// (POST /api/wallet), and takes the sale from the wallet, or part of it with the rest in
// cash or by card. The payments it builds: [{method: "wallet", amount_cents, code},
// {method: "cash" | "card", amount_cents, given_cents?}]. The server debits the wallet in
// the sale's own transaction and refuses below zero (docs/wallet.md, "Paying at the desk").

import { h } from "./dom.js";
import { register, t } from "./i18n.js";
import { amountText, money, parseAmount } from "./pos-util.js";
import { api } from "./session.js";
import { refusalText, statusText } from "./wallet-text.js";

register({
  fr: {
    "payw.code": "Code du billet ou de l'abonnement",
    "payw.read": "Lire",
    "payw.help": "Scannez le code (douchette ou caméra) ou tapez-le, puis Entrée.",
    "payw.holder": "Titulaire",
    "payw.noName": "(sans nom)",
    "payw.balance": "Solde",
    "payw.status": "État",
    "payw.part": "Part prise sur le porte-monnaie",
    "payw.rest": "Reste à payer",
    "payw.restBy": "Le reste en",
    "payw.needCode": "Lisez d'abord le code du billet ou de l'abonnement.",
    "payw.tooMuch": "Le porte-monnaie ne couvre pas ce montant : {balance} de solde.",
    "payw.overTotal": "La part du porte-monnaie dépasse le total.",
    "payw.pay": "Prendre {amount} sur le porte-monnaie",
    "payw.paySplit": "Prendre {wallet} sur le porte-monnaie + {rest} en {method}",
    "payw.cash": "espèces",
    "payw.card": "carte",
    "payw.left": "Porte-monnaie de {name} : {amount} pris, {balance} restants.",
  },
  en: {
    "payw.code": "Ticket or pass code",
    "payw.read": "Read",
    "payw.help": "Scan the code (wedge or camera) or type it, then Enter.",
    "payw.holder": "Holder",
    "payw.noName": "(no name)",
    "payw.balance": "Balance",
    "payw.status": "Status",
    "payw.part": "Part taken from the wallet",
    "payw.rest": "Left to pay",
    "payw.restBy": "The rest in",
    "payw.needCode": "Read the ticket's or pass's code first.",
    "payw.tooMuch": "The wallet does not cover this amount: {balance} balance.",
    "payw.overTotal": "The wallet's part is more than the total.",
    "payw.pay": "Take {amount} from the wallet",
    "payw.paySplit": "Take {wallet} from the wallet + {rest} in {method}",
    "payw.cash": "cash",
    "payw.card": "card",
    "payw.left": "{name}'s wallet: {amount} taken, {balance} left.",
  },
});

/** What a sale's receipt says of its wallet payment (`receipt.wallet`), in words. */
export function walletLeftText(paid, currency) {
  return t("payw.left", { name: paid.holder.name || t("payw.noName"),
    amount: money(paid.amount_cents, currency), balance: money(paid.balance_cents, currency) });
}

/** The wallet box: `total()` gives the amount due, `submit(payments, summary)` pays,
 * `showText(text, code)` shows a refusal. */
export function walletBox({ currency, total, submit, showText }) {
  let wallet = null; // POST /api/wallet's answer
  let code = "";
  let busy = false;
  const input = h("input", { type: "text", autocomplete: "off", spellcheck: "false",
    "data-testid": "pay-wallet-code", "aria-describedby": "payw-help" });
  const holder = h("div", { class: "pw-holder", "data-testid": "pay-wallet-holder", "aria-live": "polite" });
  const part = h("input", { type: "text", inputmode: "decimal", autocomplete: "off",
    "data-testid": "pay-wallet-part", oninput: () => render() });
  const restBy = h("select", { "data-testid": "pay-wallet-rest-by", onchange: () => render() },
    h("option", { value: "cash" }, t("payw.cash")), h("option", { value: "card" }, t("payw.card")));
  const rest = h("output", { "data-testid": "pay-wallet-rest" });
  const restLine = h("div", { class: "pay-box", hidden: true },
    h("p", {}, h("span", {}, t("payw.rest")), " ", rest),
    h("label", { class: "field" }, h("span", {}, t("payw.restBy")), restBy));
  const pay = h("button", { type: "button", class: "btn btn-primary btn-big", "data-testid": "pay-wallet",
    onclick: () => take() });
  const form = h("form", { class: "pw-code", onsubmit: (e) => { e.preventDefault(); read(); } },
    h("label", { class: "field" }, h("span", {}, t("payw.code")), input),
    h("button", { type: "submit", class: "btn", "data-testid": "pay-wallet-read" }, t("payw.read")));
  const element = h("div", { class: "pay-box", hidden: true, "data-testid": "pay-wallet-box" },
    form, h("p", { id: "payw-help", class: "muted small" }, t("payw.help")), holder,
    h("label", { class: "field" }, h("span", {}, t("payw.part")), part), restLine, pay);

  function partCents() {
    const text = part.value.trim();
    return text ? parseAmount(text) : Math.min(total(), wallet?.balance_cents ?? 0);
  }

  function render() {
    const due = total();
    if (!wallet) {
      holder.replaceChildren();
    } else {
      holder.replaceChildren(
        h("p", {}, h("span", { class: "small muted" }, `${t("payw.holder")} : `),
          h("strong", { "data-testid": "pay-wallet-name" }, wallet.holder.name || t("payw.noName"))),
        h("p", {}, h("span", { class: "small muted" }, `${t("payw.balance")} : `),
          h("strong", { class: "big-figure", "data-testid": "pay-wallet-balance" },
            money(wallet.balance_cents, wallet.currency || currency))),
        h("p", { "data-testid": "pay-wallet-status", "data-status": wallet.status },
          h("span", { class: "small muted" }, `${t("payw.status")} : `), statusText(wallet.status)));
    }
    const cents = partCents();
    const left = cents === null ? null : due - cents;
    restLine.hidden = !wallet || left === null || left <= 0;
    rest.textContent = left === null || left < 0 ? "—" : money(left, currency);
    const method = t(`payw.${restBy.value}`);
    pay.textContent = left > 0
      ? t("payw.paySplit", { wallet: money(cents, currency), rest: money(left, currency), method })
      : t("payw.pay", { amount: money(cents ?? 0, currency) });
    pay.disabled = busy || due <= 0 || !wallet || wallet.status !== "active" || !cents || left < 0;
  }

  async function read() {
    code = input.value.trim();
    wallet = null;
    part.value = "";
    if (!code) return render();
    try {
      wallet = await api("POST", "/api/wallet", { code });
      if (wallet.status !== "active") showText(refusalText(wallet.status === "none" ? "no_wallet" : "wallet_blocked"));
    } catch (err) {
      showText(refusalText(err, currency), err.code);
    }
    render();
  }

  function take() {
    const due = total();
    const cents = partCents();
    if (!wallet || !code) return showText(t("payw.needCode"));
    if (cents === null || cents <= 0) return showText(t("pay.badAmount"));
    if (cents > due) return showText(t("payw.overTotal"));
    if (cents > wallet.balance_cents) {
      return showText(t("payw.tooMuch", { balance: money(wallet.balance_cents, currency) }), "insufficient_balance");
    }
    part.value = amountText(cents);
    const payments = [{ method: "wallet", amount_cents: cents, code }];
    if (due > cents) payments.push({ method: restBy.value, amount_cents: due - cents });
    return submit(payments, { changeCents: 0, wallet: true });
  }

  return {
    element,
    render,
    setBusy(value) { busy = value; render(); },
    reset() { wallet = null; code = ""; input.value = ""; part.value = ""; restBy.value = "cash"; render(); },
    /** After a refusal: read the wallet again, so the balance shown is the server's. */
    refresh() { if (code) read(); },
  };
}
