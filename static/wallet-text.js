// Words the wallet pages share (the bar, the holder's page, the cash desk's wallet panel):
// why a wallet refused something, what each movement of its history was, its status.
//
//   refusalText(err, currency)   a sentence for an ApiError of the wallet routes
//   movementName(kind, amount)   "Top-up", "Bar", "Correction"…
//   statusText(status)           "active", "blocked"… in words

import { register, t } from "./i18n.js";
import { money } from "./pos-util.js";
import { errorText } from "./session.js";

register({
  fr: {
    "wal.refused.insufficient_balance": "Solde insuffisant : il reste {balance} sur ce porte-monnaie.",
    "wal.refused.wallet_blocked": "Ce porte-monnaie est bloqué (billet ou abonnement signalé perdu).",
    "wal.refused.no_wallet": "Aucun porte-monnaie sur ce code : il n'a jamais été rechargé.",
    "wal.refused.unknown_code": "Code inconnu : aucun billet ni abonnement ne porte ce code.",
    "wal.refused.invalid_code": "Ce n'est pas un code de billet ou d'abonnement valable.",
    "wal.refused.code_replaced": "Ce code a été remplacé par un plus récent : demandez le nouveau billet.",
    "wal.refused.holder_not_active": "Ce billet ou cet abonnement n'est plus valable.",
    "wal.refused.out_of_stock": "Un article est épuisé.",
    "wal.refused.article_inactive": "Un article n'est plus en vente.",
    "wal.refused.article_not_here": "Un article n'est pas vendu à ce bar.",
    "wal.refused.currency_mismatch": "Ce porte-monnaie n'est pas dans la devise de cette caisse.",
    "wal.refused.no_open_register_session": "Aucune session de caisse ouverte : ouvrez la caisse d'abord.",
    "wal.refused.wallet_refund_exceeds": "Le porte-monnaie a payé moins que ce remboursement : rendez le reste en espèces ou par carte.",
    "wal.refused.not_paid_by_wallet": "Cette vente n'a pas été payée avec un porte-monnaie.",
    "wal.refused.wallet_closed": "Ce porte-monnaie est soldé et clôturé.",
    "wal.move.topup": "Rechargement",
    "wal.move.debit": "Achat",
    "wal.move.sale": "Achat au guichet",
    "wal.move.refund": "Remboursement",
    "wal.move.reversal": "Correction",
    "wal.move.other": "Mouvement",
    "wal.status.none": "pas encore rechargé",
    "wal.status.active": "actif",
    "wal.status.blocked": "bloqué",
    "wal.status.closed": "clôturé",
    "wal.offlineMark": "hors ligne",
  },
  en: {
    "wal.refused.insufficient_balance": "Balance too low: {balance} left on this wallet.",
    "wal.refused.wallet_blocked": "This wallet is blocked (its ticket or pass was reported lost).",
    "wal.refused.no_wallet": "No wallet on this code: it was never topped up.",
    "wal.refused.unknown_code": "Unknown code: no ticket or pass has this code.",
    "wal.refused.invalid_code": "This is not a valid ticket or pass code.",
    "wal.refused.code_replaced": "This code was replaced by a newer one: ask for the new ticket.",
    "wal.refused.holder_not_active": "This ticket or pass is no longer valid.",
    "wal.refused.out_of_stock": "An article is sold out.",
    "wal.refused.article_inactive": "An article is no longer on sale.",
    "wal.refused.article_not_here": "An article is not sold at this bar.",
    "wal.refused.currency_mismatch": "This wallet is not in this register's currency.",
    "wal.refused.no_open_register_session": "No open register session: open the register first.",
    "wal.refused.wallet_refund_exceeds": "The wallet paid less than this refund: pay the rest back in cash or by card.",
    "wal.refused.not_paid_by_wallet": "This sale was not paid from a wallet.",
    "wal.refused.wallet_closed": "This wallet is settled and closed.",
    "wal.move.topup": "Top-up",
    "wal.move.debit": "Purchase",
    "wal.move.sale": "Purchase at the desk",
    "wal.move.refund": "Refund",
    "wal.move.reversal": "Correction",
    "wal.move.other": "Movement",
    "wal.status.none": "not topped up yet",
    "wal.status.active": "active",
    "wal.status.blocked": "blocked",
    "wal.status.closed": "closed",
    "wal.offlineMark": "offline",
  },
});

const KNOWN = new Set([
  "insufficient_balance", "wallet_blocked", "no_wallet", "unknown_code", "invalid_code",
  "code_replaced", "holder_not_active", "out_of_stock", "article_inactive", "article_not_here",
  "currency_mismatch", "no_open_register_session", "wallet_refund_exceeds", "not_paid_by_wallet",
  "wallet_closed",
]);

/** A refusal of the wallet routes in words (the balance, for a balance too low). */
export function refusalText(err, currency = "EUR") {
  const code = err?.code || err;
  if (typeof code === "string" && KNOWN.has(code)) {
    const balance = err?.details?.balance_cents;
    return t(`wal.refused.${code}`, { balance: money(balance ?? 0, currency) });
  }
  return typeof err === "string" ? err : errorText(err);
}

export function movementName(kind) {
  return ["topup", "debit", "sale", "refund", "reversal"].includes(kind) ? t(`wal.move.${kind}`) : t("wal.move.other");
}

export function statusText(status) {
  return t(`wal.status.${status}`);
}
