// The payment panel of the cash desk: cash (amount given → change due), card, split
// (cash + card adding up to the total) and, where the sale may be paid from a wallet
// (`wallet: true`: tickets, articles, or both), the holder's wallet, alone or with
// cash or card (pos-pay-wallet.js). It builds the `payments` array of a desk sale
// ([{method, amount_cents, given_cents?, code?}]) and hands it to `onPay`; the caller makes
// the call and reports errors back with `showError`.
//
//   const panel = paymentPanel({ currency, wallet, onPay: async (payments, summary) => ... });
//   panel.setTotal(cents);  panel.element;  panel.showError(err);  panel.setBusy(bool)

import { h } from "./dom.js";
import { register, t } from "./i18n.js";
import { amountText, money, parseAmount } from "./pos-util.js";
import { walletBox } from "./pos-pay-wallet.js";

register({
  fr: {
    "pay.title": "Paiement",
    "pay.total": "À payer",
    "pay.method": "Moyen de paiement",
    "pay.cash": "Espèces",
    "pay.card": "Carte",
    "pay.split": "Mixte",
    "pay.wallet": "Porte-monnaie",
    "pay.given": "Montant remis",
    "pay.quickGiven": "Encaisser en espèces",
    "pay.exact": "Compte exact",
    "pay.change": "Monnaie à rendre",
    "pay.missing": "Il manque {amount}",
    "pay.cashPart": "Part en espèces",
    "pay.cardPart": "Part par carte",
    "pay.givenPart": "Espèces remises (facultatif)",
    "pay.payCash": "Encaisser {amount} en espèces",
    "pay.payCard": "Encaisser {amount} par carte",
    "pay.paySplit": "Encaisser {cash} en espèces + {card} par carte",
    "pay.paying": "Encaissement…",
    "pay.badAmount": "Montant non valable : saisissez par exemple 20 ou 12,50.",
    "pay.tooLittle": "Le montant remis est inférieur au montant à payer.",
    "pay.splitTooMuch": "La part en espèces dépasse le total.",
    "pay.cardRecorded": "Le paiement par carte est seulement enregistré : encaissez-le sur le terminal.",
  },
  en: {
    "pay.title": "Payment",
    "pay.total": "To pay",
    "pay.method": "Payment method",
    "pay.cash": "Cash",
    "pay.card": "Card",
    "pay.split": "Split",
    "pay.wallet": "Wallet",
    "pay.given": "Amount given",
    "pay.quickGiven": "Take cash",
    "pay.exact": "Exact amount",
    "pay.change": "Change due",
    "pay.missing": "{amount} short",
    "pay.cashPart": "Cash part",
    "pay.cardPart": "Card part",
    "pay.givenPart": "Cash given (optional)",
    "pay.payCash": "Take {amount} in cash",
    "pay.payCard": "Take {amount} by card",
    "pay.paySplit": "Take {cash} in cash + {card} by card",
    "pay.paying": "Taking payment…",
    "pay.badAmount": "Not an amount: type for instance 20 or 12.50.",
    "pay.tooLittle": "The amount given is less than the amount due.",
    "pay.splitTooMuch": "The cash part is more than the total.",
    "pay.cardRecorded": "A card payment is only recorded: take it on the card terminal.",
  },
});

/** Notes a customer may hand over for `total`: the next few round amounts above it. */
export function quickNotes(total) {
  const out = new Set();
  for (const step of [1000, 2000, 5000, 10000, 20000]) out.add((Math.floor(total / step) + 1) * step);
  return [...out].sort((a, b) => a - b).slice(0, 3);
}

export function paymentPanel({ currency = "EUR", onPay, wallet = false }) {
  let total = 0;
  let method = "cash";
  let busy = false;
  const error = h("p", { class: "form-error", role: "alert", "data-testid": "pay-error", hidden: true });
  const totalEl = h("strong", { class: "big-figure", "data-testid": "pay-total" });
  const walletPay = wallet
    ? walletBox({ currency, total: () => total, submit: (p, s) => submit(p, s), showText: (x, c) => showText(x, c) })
    : null;
  const methods = ["cash", "card", "split", ...(wallet ? ["wallet"] : [])].map((m) => h("button", {
    type: "button", class: "seg-btn", "data-testid": `pay-method-${m}`, "data-method": m,
    "aria-pressed": String(m === method), onclick: () => setMethod(m),
  }, t(`pay.${m}`)));

  // cash
  const given = h("input", { type: "text", inputmode: "decimal", autocomplete: "off",
    "data-testid": "pay-given", id: "pay-given", oninput: () => renderChange() });
  const change = h("output", { class: "big-figure change-figure", "data-testid": "change-due",
    for: "pay-given", "aria-live": "polite" });
  const changeLabel = h("span", { class: "change-label" });
  const quick = h("div", { class: "quick-notes", role: "group", "aria-label": t("pay.quickGiven") });
  const payCash = h("button", { type: "button", class: "btn btn-primary btn-big", "data-testid": "pay-cash",
    onclick: () => submitCash(parseGiven()) });
  const cashBox = h("div", { class: "pay-box" },
    h("div", { class: "quick-wrap" }, h("span", { class: "muted small" }, t("pay.quickGiven")), quick),
    h("label", { class: "field" }, h("span", {}, t("pay.given")), given),
    h("p", { class: "change-line" }, changeLabel, " ", change),
    payCash);

  // card
  const payCard = h("button", { type: "button", class: "btn btn-primary btn-big", "data-testid": "pay-card",
    onclick: () => submit([{ method: "card", amount_cents: total }], {}) });
  const cardBox = h("div", { class: "pay-box", hidden: true },
    h("p", { class: "muted small" }, t("pay.cardRecorded")), payCard);

  // split
  const cashPart = h("input", { type: "text", inputmode: "decimal", autocomplete: "off",
    "data-testid": "split-cash", oninput: () => renderSplit() });
  const cardPart = h("output", { class: "split-card", "data-testid": "split-card" });
  const splitGiven = h("input", { type: "text", inputmode: "decimal", autocomplete: "off",
    "data-testid": "split-given", oninput: () => renderSplit() });
  const splitChange = h("output", { class: "big-figure change-figure", "data-testid": "split-change" });
  const paySplit = h("button", { type: "button", class: "btn btn-primary btn-big", "data-testid": "pay-split",
    onclick: () => submitSplit() });
  const splitBox = h("div", { class: "pay-box", hidden: true },
    h("label", { class: "field" }, h("span", {}, t("pay.cashPart")), cashPart),
    h("p", {}, h("span", {}, t("pay.cardPart")), " ", cardPart),
    h("label", { class: "field" }, h("span", {}, t("pay.givenPart")), splitGiven),
    h("p", { class: "change-line" }, h("span", {}, t("pay.change")), " ", splitChange),
    paySplit);

  const element = h("section", { class: "pay-panel", "data-testid": "payment", "aria-label": t("pay.title") },
    h("p", { class: "pay-total" }, h("span", {}, t("pay.total")), " ", totalEl),
    h("div", { class: "seg", role: "group", "aria-label": t("pay.method") }, methods),
    cashBox, cardBox, splitBox, walletPay?.element || null, error);

  function parseGiven() {
    const text = given.value.trim();
    if (!text) return total;
    return parseAmount(text);
  }

  function setMethod(m) {
    method = m;
    for (const b of methods) b.setAttribute("aria-pressed", String(b.dataset.method === m));
    cashBox.hidden = m !== "cash";
    cardBox.hidden = m !== "card";
    splitBox.hidden = m !== "split";
    if (walletPay) walletPay.element.hidden = m !== "wallet";
    hideError();
    render();
  }

  function renderChange() {
    const text = given.value.trim();
    const cents = text ? parseAmount(text) : total;
    if (cents === null) {
      changeLabel.textContent = t("pay.change");
      change.textContent = "—";
      change.dataset.state = "invalid";
    } else if (cents < total) {
      changeLabel.textContent = `⚠ ${t("pay.missing", { amount: money(total - cents, currency) })}`;
      change.textContent = "";
      change.dataset.state = "short";
    } else {
      changeLabel.textContent = t("pay.change");
      change.textContent = money(cents - total, currency);
      change.dataset.state = "ok";
    }
    payCash.disabled = busy || total <= 0 || cents === null || cents < total;
  }

  function splitParts() {
    const cash = parseAmount(cashPart.value.trim() || "0");
    return { cash, card: cash === null ? null : total - cash };
  }

  function renderSplit() {
    const { cash, card } = splitParts();
    cardPart.textContent = card === null || card < 0 ? "—" : money(card, currency);
    const g = splitGiven.value.trim() ? parseAmount(splitGiven.value.trim()) : cash;
    splitChange.textContent = g === null || cash === null || g < cash ? "—" : money(g - cash, currency);
    paySplit.textContent = t("pay.paySplit", {
      cash: money(cash ?? 0, currency), card: money(Math.max(card ?? 0, 0), currency),
    });
    paySplit.disabled = busy || total <= 0 || cash === null || card === null || card < 0;
  }

  function render() {
    totalEl.textContent = money(total, currency);
    quick.replaceChildren(
      h("button", { type: "button", class: "btn note-btn", "data-testid": "given-exact",
        disabled: busy || total <= 0, onclick: () => submitCash(total) }, t("pay.exact")),
      ...quickNotes(total).map((note) => h("button", {
        type: "button", class: "btn note-btn", "data-testid": "given-note", "data-cents": note,
        disabled: busy || total <= 0, onclick: () => submitCash(note),
      }, money(note, currency))));
    payCash.textContent = busy ? t("pay.paying") : t("pay.payCash", { amount: money(total, currency) });
    payCard.textContent = busy ? t("pay.paying") : t("pay.payCard", { amount: money(total, currency) });
    payCard.disabled = busy || total <= 0;
    for (const b of methods) b.disabled = busy;
    renderChange();
    renderSplit();
    walletPay?.render();
  }

  function submitCash(cents) {
    if (cents === null) return showText(t("pay.badAmount"));
    if (cents < total) return showText(t("pay.tooLittle"));
    given.value = amountText(cents);
    renderChange();
    return submit([{ method: "cash", amount_cents: total, given_cents: cents }],
      { changeCents: cents - total });
  }

  function submitSplit() {
    const { cash, card } = splitParts();
    if (cash === null) return showText(t("pay.badAmount"));
    if (card < 0) return showText(t("pay.splitTooMuch"));
    const g = splitGiven.value.trim() ? parseAmount(splitGiven.value.trim()) : cash;
    if (g === null) return showText(t("pay.badAmount"));
    if (g < cash) return showText(t("pay.tooLittle"));
    const payments = [];
    if (cash > 0) payments.push({ method: "cash", amount_cents: cash, given_cents: g });
    if (card > 0) payments.push({ method: "card", amount_cents: card });
    return submit(payments, { changeCents: g - cash });
  }

  async function submit(payments, summary) {
    if (busy) return;
    hideError();
    await onPay(payments, summary);
  }

  function showText(text, code = "") {
    error.textContent = text;
    error.dataset.code = code;
    error.hidden = false;
  }

  function hideError() {
    error.hidden = true;
    error.textContent = "";
  }

  render();
  return {
    element,
    setTotal(cents) {
      total = cents;
      render();
    },
    setBusy(value) {
      busy = value;
      walletPay?.setBusy(value);
      render();
    },
    reset() {
      given.value = "";
      cashPart.value = "";
      splitGiven.value = "";
      walletPay?.reset();
      hideError();
      setMethod("cash");
    },
    showError(text, code) {
      showText(text, code);
      if (method === "wallet") walletPay?.refresh();
    },
    hideError,
  };
}
