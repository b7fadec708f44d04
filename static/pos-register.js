// Registers and cash at the desk: opening a register with its float counted by denomination,
// cash operations (credit, debit, credit error, debit error, each with a reason), the X report
// on demand, and the blind close (count first, no expected amount shown) ending with the Z
// report. Routes: docs/cash.md.

import { h } from "./dom.js";
import { register, t } from "./i18n.js";
import { countForm, dateTime, money, parseAmount, signedMoney, timeOf } from "./pos-util.js";
import { differenceWord, reportPaper, showDoc } from "./pos-receipt.js";
import { api, errorText, notify } from "./session.js";

register({
  fr: {
    "reg.openTitle": "Ouvrir une caisse",
    "reg.openHelp": "Choisissez la caisse, comptez le fonds de caisse billet par billet et pièce par pièce, puis ouvrez.",
    "reg.choose": "Caisse",
    "reg.none": "Aucune caisse n'est configurée : un administrateur doit en créer une.",
    "reg.busy": "ouverte par un autre caissier : la reprendre par une passation",
    "reg.handover": "Reprendre la caisse avec {amount} comptés ensemble",
    "reg.handoverHelp": "Passation : comptez le tiroir avec le caissier sortant ; sa session est clôturée sur ce comptage et la vôtre s'ouvre avec ce fonds.",
    "reg.handedOver": "Caisse reprise : la session précédente est clôturée (rapport Z n° {n}).",
    "reg.free": "libre",
    "reg.floatTitle": "Fonds de caisse",
    "reg.open": "Ouvrir la caisse avec {amount}",
    "reg.opened": "Caisse ouverte avec un fonds de {amount}.",
    "reg.pickOne": "Choisissez une caisse.",
    "reg.status": "{register} · {pos} · ouverte à {time} · fonds {amount}",
    "reg.statusLabel": "Caisse ouverte",
    "reg.noneOpen": "Aucune caisse ouverte",
    "reg.opsTitle": "Mouvements d'espèces",
    "reg.kind": "Type",
    "reg.kind.credit": "Apport (entrée d'espèces)",
    "reg.kind.debit": "Retrait (sortie d'espèces)",
    "reg.kind.credit_error": "Annulation d'un apport saisi par erreur",
    "reg.kind.debit_error": "Annulation d'un retrait saisi par erreur",
    "reg.amount": "Montant",
    "reg.reason": "Motif",
    "reg.record": "Enregistrer le mouvement",
    "reg.recorded": "{kind} de {amount} enregistré (reçu n° {n}).",
    "reg.badAmount": "Montant non valable : saisissez par exemple 20 ou 12,50.",
    "reg.needReason": "Indiquez un motif.",
    "reg.xTitle": "Rapport X",
    "reg.xHelp": "Lecture de la caisse à tout moment, sans la fermer.",
    "reg.xShow": "Afficher le rapport X",
    "reg.closeTitle": "Clôturer la caisse",
    "reg.closeHelp": "Comptage à l'aveugle : comptez les espèces du tiroir ; le montant attendu n'est affiché qu'après la clôture, dans le rapport Z.",
    "reg.closeStart": "Commencer le comptage de clôture",
    "reg.closeGo": "Valider le comptage ({amount}) et clôturer",
    "reg.closeConfirm": "Clôturer la caisse avec {amount} comptés ? Une caisse clôturée ne se rouvre pas.",
    "reg.closed": "Caisse clôturée : rapport Z n° {n}.",
    "reg.zDiff": "Écart de caisse",
  },
  en: {
    "reg.openTitle": "Open a register",
    "reg.openHelp": "Pick the register, count the float note by note and coin by coin, then open.",
    "reg.choose": "Register",
    "reg.none": "No register is set up: an administrator has to create one.",
    "reg.busy": "open by another cashier: take it over with a hand-over",
    "reg.handover": "Take the register over with {amount} counted together",
    "reg.handoverHelp": "Hand-over: count the drawer with the outgoing cashier; their session closes on this count and yours opens with it as the float.",
    "reg.handedOver": "Register taken over: the previous session is closed (Z report no. {n}).",
    "reg.free": "free",
    "reg.floatTitle": "Float",
    "reg.open": "Open the register with {amount}",
    "reg.opened": "Register opened with a float of {amount}.",
    "reg.pickOne": "Pick a register.",
    "reg.status": "{register} · {pos} · opened at {time} · float {amount}",
    "reg.statusLabel": "Register open",
    "reg.noneOpen": "No register open",
    "reg.opsTitle": "Cash movements",
    "reg.kind": "Kind",
    "reg.kind.credit": "Cash in",
    "reg.kind.debit": "Cash out",
    "reg.kind.credit_error": "Undo a cash-in recorded in error",
    "reg.kind.debit_error": "Undo a cash-out recorded in error",
    "reg.amount": "Amount",
    "reg.reason": "Reason",
    "reg.record": "Record the movement",
    "reg.recorded": "{kind} of {amount} recorded (receipt no. {n}).",
    "reg.badAmount": "Not an amount: type for instance 20 or 12.50.",
    "reg.needReason": "Give a reason.",
    "reg.xTitle": "X report",
    "reg.xHelp": "A reading of the register at any time, without closing it.",
    "reg.xShow": "Show the X report",
    "reg.closeTitle": "Close the register",
    "reg.closeHelp": "Blind count: count the cash in the drawer; the expected amount is shown only after closing, on the Z report.",
    "reg.closeStart": "Start the closing count",
    "reg.closeGo": "Confirm the count ({amount}) and close",
    "reg.closeConfirm": "Close the register with {amount} counted? A closed register is not reopened.",
    "reg.closed": "Register closed: Z report no. {n}.",
    "reg.zDiff": "Cash difference",
  },
});

/** The "no open register" view: pick a register and open it with a counted float. */
export async function mountOpen(ctx, root) {
  root.replaceChildren(h("p", { class: "muted" }, t("loading")));
  let registers;
  try {
    registers = (await api("GET", "/api/registers")).registers;
  } catch (err) {
    root.replaceChildren(h("p", { class: "banner banner-error", role: "alert" }, errorText(err)));
    return;
  }
  ctx.setRegisters(registers);
  // a cashier bound to points of sale sees their registers; one bound to none sees them all
  const mine = new Set((ctx.user.points_of_sale || []).map((p) => p.id));
  if (mine.size) registers = registers.filter((r) => mine.has(r.point_of_sale_id));
  if (!registers.length) {
    root.replaceChildren(h("h1", {}, t("reg.openTitle")), h("p", { class: "banner" }, t("reg.none")));
    return;
  }
  const free = registers.filter((r) => r.open_session_id === null);
  const choices = h("fieldset", { class: "choices register-choices" },
    h("legend", {}, t("reg.choose")),
    registers.map((r) => h("label", { class: "choice" },
      h("input", { type: "radio", name: "register", value: r.id, "data-testid": "register-choice",
        "data-register-id": r.id, "data-busy": r.open_session_id !== null ? "true" : "false",
        checked: free.length === 1 && free[0].id === r.id, onchange: () => label() }),
      h("span", {}, h("strong", {}, r.name), ` · ${r.point_of_sale} · ${r.currency} `,
        h("small", {}, r.open_session_id !== null ? `⇄ ${t("reg.busy")}` : `✓ ${t("reg.free")}`)))));
  const help = h("p", { class: "banner small", hidden: true }, t("reg.handoverHelp"));
  const count = countForm("float");
  const error = h("p", { class: "form-error", role: "alert", "data-testid": "open-error", hidden: true });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-big", "data-testid": "open-register" });
  const chosenRegister = () => {
    const input = choices.querySelector("input[name=register]:checked");
    return input ? registers.find((r) => r.id === Number(input.value)) : null;
  };
  const label = () => {
    const busy = chosenRegister()?.open_session_id ?? null;
    help.hidden = busy === null;
    submit.dataset.handover = busy === null ? "false" : "true";
    submit.textContent = t(busy === null ? "reg.open" : "reg.handover", { amount: money(count.total()) });
  };
  count.element.addEventListener("input", label);
  label();
  const form = h("form", { class: "card open-form", novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    error.hidden = true;
    const chosen = chosenRegister();
    if (!chosen) {
      error.textContent = t("reg.pickOne");
      error.hidden = false;
      return;
    }
    submit.disabled = true;
    try {
      if (chosen.open_session_id !== null) {
        const done = await api("POST", `/api/register-sessions/${chosen.open_session_id}/handover`,
          { counted: count.counted() });
        notify(t("reg.handedOver", { n: done.closed.z_number }), "success");
        await ctx.opened(done.opened);
      } else {
        const rs = await api("POST", `/api/registers/${chosen.id}/sessions`, { counted: count.counted() });
        await ctx.opened(rs);
      }
    } catch (err) {
      error.textContent = errorText(err);
      error.dataset.code = err.code || "";
      error.hidden = false;
    } finally {
      submit.disabled = false;
    }
  } },
  h("h1", {}, t("reg.openTitle")),
  h("p", { class: "muted" }, t("reg.openHelp")),
  choices,
  h("h2", {}, t("reg.floatTitle")),
  count.element, help, error, submit);
  root.replaceChildren(form);
}

/** The register bar's text for an open session. */
export function registerStatus(ctx, rs) {
  const reg = ctx.registerOf(rs.register_id);
  return t("reg.status", {
    register: reg?.name ?? `#${rs.register_id}`, pos: reg?.point_of_sale ?? "",
    time: timeOf(rs.opened_at), amount: money(rs.opening_cents, rs.currency),
  });
}

/** The register tab: cash operations, X report, blind close → Z report. */
export function mountRegisterTab(ctx, root) {
  const rs = ctx.registerSession();
  const cur = rs.currency;

  // cash operations
  const kind = h("select", { "data-testid": "op-kind", id: "op-kind" },
    ["credit", "debit", "credit_error", "debit_error"].map((k) => h("option", { value: k }, t(`reg.kind.${k}`))));
  const amount = h("input", { type: "text", inputmode: "decimal", "data-testid": "op-amount", id: "op-amount",
    autocomplete: "off" });
  const reason = h("input", { type: "text", maxlength: "200", "data-testid": "op-reason", id: "op-reason" });
  const opError = h("p", { class: "form-error", role: "alert", "data-testid": "op-error", hidden: true });
  const opResult = h("p", { class: "form-ok", role: "status", "data-testid": "op-result", hidden: true });
  const ops = h("form", { class: "card", novalidate: true, "aria-labelledby": "ops-title", onsubmit: async (e) => {
    e.preventDefault();
    opError.hidden = true;
    opResult.hidden = true;
    const cents = parseAmount(amount.value);
    const why = reason.value.trim();
    if (!cents) {
      opError.textContent = t("reg.badAmount");
      opError.hidden = false;
      amount.focus();
      return;
    }
    if (!why) {
      opError.textContent = t("reg.needReason");
      opError.hidden = false;
      reason.focus();
      return;
    }
    try {
      const op = await api("POST", `/api/register-sessions/${rs.id}/operations`,
        { kind: kind.value, amount_cents: cents, reason: why });
      opResult.textContent = t("reg.recorded", { kind: t(`reg.kind.${op.kind}`),
        amount: money(op.amount_cents, op.currency), n: op.receipt_no });
      opResult.hidden = false;
      amount.value = "";
      reason.value = "";
    } catch (err) {
      opError.textContent = errorText(err);
      opError.dataset.code = err.code || "";
      opError.hidden = false;
    }
  } },
  h("h2", { id: "ops-title" }, t("reg.opsTitle")),
  h("div", { class: "form-grid" },
    h("label", { class: "field", for: "op-kind" }, h("span", {}, t("reg.kind")), kind),
    h("label", { class: "field", for: "op-amount" }, h("span", {}, t("reg.amount")), amount),
    h("label", { class: "field field-wide", for: "op-reason" }, h("span", {}, t("reg.reason")), reason)),
  h("button", { type: "submit", class: "btn btn-primary", "data-testid": "op-submit" }, t("reg.record")),
  opError, opResult);

  // X report
  const xBox = h("section", { class: "card", "aria-labelledby": "x-title" },
    h("h2", { id: "x-title" }, t("reg.xTitle")),
    h("p", { class: "muted small" }, t("reg.xHelp")),
    h("button", { type: "button", class: "btn", "data-testid": "x-report", onclick: async () => {
      try {
        const session = await api("GET", `/api/register-sessions/${rs.id}/report`);
        showDoc(ctx, { title: t("doc.xTitle"), paper: reportPaper(ctx, session, session.report) });
      } catch (err) {
        notify(errorText(err));
      }
    } }, t("reg.xShow")));

  // blind close
  const closeArea = h("div", {});
  const closeBox = h("section", { class: "card", "aria-labelledby": "close-title" },
    h("h2", { id: "close-title" }, t("reg.closeTitle")),
    h("p", { class: "muted small" }, t("reg.closeHelp")),
    closeArea);
  const start = h("button", { type: "button", class: "btn", "data-testid": "close-start", onclick: () => {
    const count = countForm("close");
    const error = h("p", { class: "form-error", role: "alert", "data-testid": "close-error", hidden: true });
    const go = h("button", { type: "submit", class: "btn btn-primary btn-big", "data-testid": "close-register" });
    const label = () => {
      go.textContent = t("reg.closeGo", { amount: money(count.total(), cur) });
    };
    count.element.addEventListener("input", label);
    label();
    const form = h("form", { novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      if (!window.confirm(t("reg.closeConfirm", { amount: money(count.total(), cur) }))) return;
      go.disabled = true;
      try {
        const z = await api("POST", `/api/register-sessions/${rs.id}/close`, { counted: count.counted() });
        const paper = reportPaper(ctx, z, z.report);
        const diff = z.difference_cents ?? 0;
        const banner = h("p", { class: "change-banner", "data-testid": "z-banner", role: "status",
          "data-sign": diff > 0 ? "over" : diff < 0 ? "short" : "even" },
          h("span", {}, t("reg.zDiff")), " ",
          h("strong", { class: "big-figure" }, `${signedMoney(diff, z.currency)} (${differenceWord(diff)})`));
        ctx.closed();
        showDoc(ctx, { title: t("doc.zTitle", { n: z.z_number }), paper, banner, onClose: () => ctx.restart() });
      } catch (err) {
        error.textContent = errorText(err);
        error.dataset.code = err.code || "";
        error.hidden = false;
        go.disabled = false;
      }
    } }, count.element, error, go);
    closeArea.replaceChildren(form);
    form.querySelector("input")?.focus();
  } }, t("reg.closeStart"));
  closeArea.append(start);

  root.replaceChildren(
    h("p", { class: "muted small", "data-testid": "register-session-info" },
      `${registerStatus(ctx, rs)} · ${dateTime(rs.opened_at)}`),
    h("div", { class: "register-grid" }, ops, xBox, closeBox));
}
