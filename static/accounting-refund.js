// Refunds from the sales statement, for whoever holds refund.any (admins): a sale line,
// or all a desk sale has left, refunded through the cash desk's own refund (the money goes
// out of the caller's open register session: POST /api/journal/{id}/refund), an e-shop
// ticket through the door's (POST /api/tickets/{id}/refund). docs/accounting.md.

import { t } from "./i18n.js";
import { h } from "./dom.js";
import { api, errorText, notify } from "./session.js";

/** The caller's open register session, which pays a desk refund out (null: none open). */
async function registerSession() {
  try {
    return (await api("GET", "/api/register-sessions/current")).id;
  } catch (err) {
    if (err.code === "no_open_register_session" || err.code === "forbidden") return null;
    throw err;
  }
}

async function refundDesk(ln, whole) {
  const session = await registerSession();
  if (session === null) {
    notify(t("acc.refund.noRegister"));
    return false;
  }
  const body = { register_session_id: session, method: ln.method === "card" ? "card" : "cash" };
  if (!whole) {
    if (ln.ticket_id) body.ticket_ids = [ln.ticket_id];
    else if (ln.article_id) body.articles = [{ article_id: ln.article_id, quantity: ln.quantity }];
    else if (ln.pass_id) body.pass_ids = [ln.pass_id];
  }
  await api("POST", `/api/journal/${ln.journal_id}/refund`, body);
  return true;
}

async function refund(ln, whole, done) {
  const question = whole ? t("acc.refund.askSale", { receipt: ln.receipt_no ?? ln.journal_id })
    : t("acc.refund.askLine", { what: ln.description });
  if (!window.confirm(question)) return;
  try {
    const ok = ln.channel === "eshop"
      ? !!(await api("POST", `/api/tickets/${ln.ticket_id}/refund`))
      : await refundDesk(ln, whole);
    if (!ok) return;
    notify(t("acc.refund.done"), "success");
    await done();
  } catch (err) {
    notify(errorText(err));
  }
}

/** The row's refund cell: its state in words, and the buttons that refund it. */
export function refundCell(ln, done) {
  if (ln.kind !== "sale") return h("td", {});
  if (ln.ticket_status && ln.ticket_status !== "active") {
    return h("td", { "data-testid": "sales-refunded" }, t(`acc.ticket.${ln.ticket_status}`));
  }
  const desk = ln.channel === "desk" && ln.journal_id;
  const shop = ln.channel === "eshop" && ln.ticket_id;
  if (!desk && !shop) return h("td", {});
  const button = (label, whole, testid) => h("button", {
    type: "button", class: "btn btn-small", "data-testid": testid,
    onclick: () => refund(ln, whole, done) }, t(label));
  return h("td", { class: "actions" }, button("acc.refund.line", false, "refund-line"),
    desk ? button("acc.refund.sale", true, "refund-sale") : null);
}
