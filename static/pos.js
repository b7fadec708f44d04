// The cash desk (permission `sell`), for a tablet and usable on a phone: open a register with
// a counted float, sell tickets (quick mode for general admission, the live seat map and best
// available for seated sessions) and articles when the server has them, take cash, card or
// split payments, print receipts (80 mm or A4), refund from the last sales, cash movements,
// X report, blind close and Z report.
//
// Modules: pos-register.js (open, operations, X, close), pos-sell.js (sessions, map, holds,
// sale: with pos-sessions.js, pos-calendar.js, pos-seats.js, pos-basket.js, pos-reserve.js),
// pos-pay.js (payment panel), pos-receipt.js (printable documents), pos-journal.js
// (last sales, reprint, refund), pos-articles.js (articles, when present), pos-passes.js
// (sell passes, find them, book sessions on them), pos-wallet.js (top up a cashless wallet,
// with `wallet.credit`), pos-util.js.

import { h } from "./dom.js";
import { i18n, register, t } from "./i18n.js";
import { DoorLink } from "./scanner-link.js";
import { probeArticles, mountArticles } from "./pos-articles.js";
import { mountJournal } from "./pos-journal.js";
import { mountPasses } from "./pos-passes.js";
import { changeBanner, receiptPaper, showDoc } from "./pos-receipt.js";
import { mountOpen, mountRegisterTab, registerStatus } from "./pos-register.js";
import { mountSell } from "./pos-sell.js";
import { dateTime } from "./pos-util.js";
import { mountWallet } from "./pos-wallet.js";
import {
  addConnectionIndicator, api, can, errorText, notify, requireSession, watchSession,
} from "./session.js";

register({
  fr: {
    "pos.title": "Caisse",
    "pos.tabs": "Guichet",
    "tab.sell": "Billets",
    "tab.articles": "Articles",
    "tab.passes": "Abonnements",
    "tab.wallet": "Porte-monnaie",
    "tab.journal": "Dernières ventes",
    "tab.register": "Caisse",
    "pos.receiptTitle": "Reçu n° {n}",
    "pos.receiptMissing": "Vente enregistrée (reçu n° {n}), mais le reçu n'a pas pu être relu : {error}",
  },
  en: {
    "pos.title": "Cash desk",
    "pos.tabs": "Desk",
    "tab.sell": "Tickets",
    "tab.articles": "Articles",
    "tab.passes": "Passes",
    "tab.wallet": "Wallet",
    "tab.journal": "Last sales",
    "tab.register": "Register",
    "pos.receiptTitle": "Receipt no. {n}",
    "pos.receiptMissing": "Sale recorded (receipt no. {n}), but the receipt could not be read back: {error}",
  },
});

const $ = (id) => document.getElementById(id);
const TICKETS_KEY = "guichet.pos.tickets";

function loadTickets() {
  try {
    return new Map(JSON.parse(sessionStorage.getItem(TICKETS_KEY)) || []);
  } catch {
    return new Map();
  }
}

const user = await requireSession(["sell"]);
if (user) boot(user);

function boot(me) {
  const live = new DoorLink(null); // its channels' frames, stock included, reach their handlers
  watchSession(live);
  addConnectionIndicator(live);
  const tickets = loadTickets();
  let rs = null;
  let registers = [];
  let sell = null;
  let journal = null;
  let articles = null;
  let passes = null;
  const mayTopUp = can(me, "wallet.credit");
  window.__pos = { live, view: null };

  const ctx = {
    user: me,
    live,
    registerSession: () => rs,
    articles: () => articles?.list() || [],
    currency: () => rs?.currency || "EUR",
    setRegisters: (list) => {
      registers = list;
    },
    registerOf: (id) => registers.find((r) => r.id === id) || null,
    cashierName: (id) => (id === me.id ? me.display_name || me.username
      : rs && rs.cashier_id === id ? rs.cashier : `#${id}`),
    // A journal line names its ticket's session and seat; older entries fall back on what
    // this browser remembers of its own sales.
    ticketInfo: (id, line = null) => {
      const known = line?.ticket;
      if (known) {
        return {
          seat: known.seat ? t("sell.seatName", { row: known.row, label: known.seat }) : null,
          event: `${known.event} · ${dateTime(known.starts_at)}`,
        };
      }
      return id ? tickets.get(id) || null : null;
    },
    rememberTickets: (list) => {
      for (const tk of list) tickets.set(tk.id, { seat: tk.seat, event: tk.event });
      try {
        sessionStorage.setItem(TICKETS_KEY, JSON.stringify([...tickets].slice(-500)));
      } catch {
        // full: the receipt shows the tariff without the seat
      }
    },
    async opened(session) {
      rs = session;
      await showDeskView();
    },
    closed() {
      rs = null;
      renderBar();
    },
    restart: () => start(),
    showDesk: () => {
      if (rs) $("view-desk").hidden = false;
      else start();
    },
    hideDesk: () => {
      $("view-desk").hidden = true;
      $("view-open").hidden = true;
    },
    async afterSale(receipt, changeCents) {
      const no = receipt?.receipt_no;
      const entryId = receipt?.journal_id ?? receipt?.id;
      let entry = null;
      try {
        const page = await api("GET", `/api/register-sessions/${rs.id}/journal?limit=20`);
        entry = page.entries.find((e) => e.id === entryId) || null;
      } catch (err) {
        notify(t("pos.receiptMissing", { n: no, error: errorText(err) }));
      }
      journal?.load(0);
      if (!entry) {
        notify(t("pos.receiptMissing", { n: no, error: "?" }));
        return;
      }
      const cash = entry.payments.find((p) => p.method === "cash");
      const change = cash?.change_cents ?? changeCents;
      showDoc(ctx, {
        title: t("pos.receiptTitle", { n: entry.receipt_no }),
        paper: receiptPaper(ctx, entry),
        banner: cash ? changeBanner(t("doc.changeDue"), change, entry.currency, "change-banner") : null,
      });
    },
  };

  function renderBar() {
    const bar = $("register-bar");
    if (!rs) {
      bar.dataset.state = "closed";
      bar.replaceChildren(h("span", { class: "reg-icon", "aria-hidden": "true" }, "○"), " ", t("reg.noneOpen"));
      return;
    }
    bar.dataset.state = "open";
    bar.replaceChildren(h("span", { class: "reg-icon", "aria-hidden": "true" }, "●"), " ",
      h("strong", {}, `${t("reg.statusLabel")} : `), registerStatus(ctx, rs));
  }

  // -- tabs -------------------------------------------------------------------------------------
  const TABS = ["sell", "articles", "passes", "wallet", "journal", "register"];
  function selectTab(name, focus = false) {
    for (const tab of TABS) {
      const button = $(`tab-${tab}`);
      const panel = $(`panel-${tab}`);
      const on = tab === name;
      button.setAttribute("aria-selected", String(on));
      button.tabIndex = on ? 0 : -1;
      panel.hidden = !on;
      if (on && focus) button.focus();
    }
    if (name === "journal") journal?.load(0);
    if (name === "register") mountRegisterTab(ctx, $("panel-register"));
  }
  for (const tab of TABS) {
    $(`tab-${tab}`).addEventListener("click", () => selectTab(tab));
    $(`tab-${tab}`).addEventListener("keydown", (e) => {
      const shown = TABS.filter((x) => !$(`tab-${x}`).hidden);
      const i = shown.indexOf(tab);
      let next = null;
      if (e.key === "ArrowRight") next = shown[(i + 1) % shown.length];
      else if (e.key === "ArrowLeft") next = shown[(i - 1 + shown.length) % shown.length];
      else if (e.key === "Home") next = shown[0];
      else if (e.key === "End") next = shown[shown.length - 1];
      if (next) {
        e.preventDefault();
        selectTab(next, true);
      }
    });
  }

  /** The Wallet tab, for those who may top up (`wallet.credit`). */
  function mountWalletTab() {
    $("tab-wallet").hidden = !mayTopUp;
    if (mayTopUp) mountWallet(ctx, $("panel-wallet"));
  }

  async function showDeskView() {
    renderBar();
    $("view-open").hidden = true;
    $("view-doc").hidden = true;
    $("view-desk").hidden = false;
    if (!registers.some((r) => r.id === rs.register_id)) {
      try {
        registers = (await api("GET", "/api/registers")).registers;
      } catch {
        // the bar shows the register's number instead of its name
      }
      renderBar();
    }
    sell?.leave();
    sell = mountSell(ctx, $("panel-sell"));
    sell.showList();
    journal = mountJournal(ctx, $("panel-journal"));
    passes?.close();
    passes = mountPasses(ctx, $("panel-passes"));
    mountWalletTab();
    selectTab("sell");
    articles?.close();
    articles = null;
    try {
      const posId = ctx.registerOf(rs.register_id)?.point_of_sale_id;
      const list = await probeArticles(posId);
      $("tab-articles").hidden = list === null;
      if (list !== null) articles = mountArticles(ctx, $("panel-articles"), list, posId);
    } catch (err) {
      $("tab-articles").hidden = true;
      notify(errorText(err));
    }
  }

  async function start() {
    sell?.leave();
    $("view-doc").hidden = true;
    $("view-desk").hidden = true;
    try {
      rs = await api("GET", "/api/register-sessions/current");
    } catch (err) {
      rs = null;
      if (err.code !== "no_open_register_session") notify(errorText(err));
    }
    if (rs) {
      await showDeskView();
      return;
    }
    renderBar();
    $("view-open").hidden = false;
    await mountOpen(ctx, $("view-open"));
  }

  i18n.addEventListener("languagechange", () => {
    renderBar();
    if (rs && !$("view-desk").hidden) {
      sell?.leave();
      sell = mountSell(ctx, $("panel-sell"));
      sell.showList();
      journal = mountJournal(ctx, $("panel-journal"));
      passes?.close();
      passes = mountPasses(ctx, $("panel-passes"));
      mountWalletTab();
      selectTab("sell");
    } else if (!rs && !$("view-open").hidden) {
      mountOpen(ctx, $("view-open"));
    }
  });
  start();
}
