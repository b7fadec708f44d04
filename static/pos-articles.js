// Articles at the desk (drinks, programmes, merchandise), by family: shown only when the
// server has them (GET /api/articles?point_of_sale_id= answers 200). A basket of articles is
// paid like tickets (pos-pay.js) with POST /api/register-sessions/{id}/sales
// {idempotency_key, items: [{article_id, quantity}], payments}; stock levels come live on the
// `stock:<point_of_sale_id>` channel (docs/protocol.md: `stock` frames, newest `version` wins).

import { h } from "./dom.js";
import { register, t } from "./i18n.js";
import { paymentPanel } from "./pos-pay.js";
import { money, randomKey } from "./pos-util.js";
import { PROTOCOL } from "./protocol.js";
import { ApiError, api, errorText, notify } from "./session.js";

register({
  fr: {
    "art.title": "Articles",
    "art.none": "Aucun article en vente ici.",
    "art.stock": "Stock : {n}",
    "art.unlimited": "Sans stock compté",
    "art.alert": "Stock bas",
    "art.out": "Épuisé",
    "art.add": "Ajouter {name}",
    "art.basket": "Panier d'articles",
    "art.empty": "Touchez un article pour l'ajouter.",
    "art.remove": "Retirer un {name}",
    "art.short": "Stock insuffisant : {list}",
    "art.left": "{name} ({n} restant(s))",
  },
  en: {
    "art.title": "Articles",
    "art.none": "No article on sale here.",
    "art.stock": "Stock: {n}",
    "art.unlimited": "Stock not counted",
    "art.alert": "Low stock",
    "art.out": "Sold out",
    "art.add": "Add {name}",
    "art.basket": "Articles basket",
    "art.empty": "Tap an article to add it.",
    "art.remove": "Remove one {name}",
    "art.short": "Not enough stock: {list}",
    "art.left": "{name} ({n} left)",
  },
});

/** The articles on sale at this point of sale, or null when the server has none (404). */
export async function probeArticles(pointOfSaleId) {
  const query = pointOfSaleId ? `?point_of_sale_id=${pointOfSaleId}` : "";
  try {
    const body = await api("GET", `/api/articles${query}`);
    return body?.articles || [];
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 405)) return null;
    throw err;
  }
}

export function mountArticles(ctx, root, articles, pointOfSaleId) {
  const byId = new Map(articles.map((a) => [a.id, { ...a, version: a.stock_version ?? 0 }]));
  const basket = new Map(); // article id -> quantity
  let key = null;
  let sub = null;
  const grid = h("div", { class: "article-families", "data-testid": "articles" });
  const lines = h("ul", { class: "basket-items", "data-testid": "article-basket" });
  const empty = h("p", { class: "muted" }, t("art.empty"));
  const currency = () => articles[0]?.currency || ctx.currency();
  const pay = paymentPanel({ currency: currency(), wallet: true, onPay: (payments, summary) => sell(payments, summary) });
  const payBox = h("div", { hidden: true }, pay.element);
  root.replaceChildren(h("div", { class: "sell-layout" },
    h("section", { "aria-labelledby": "art-title" }, h("h2", { id: "art-title" }, t("art.title")), grid),
    h("aside", { class: "basket", "aria-labelledby": "art-basket-title" },
      h("h2", { id: "art-basket-title" }, t("art.basket")), empty, lines, payBox)));

  function stockTag(a) {
    if (a.stock === null || a.stock === undefined) {
      return h("span", { class: "tag", "data-testid": "stock", "data-alert": "false" }, t("art.unlimited"));
    }
    if (a.stock <= 0 && !a.allow_negative) {
      return h("span", { class: "tag tag-off", "data-testid": "stock", "data-alert": "true",
        "data-stock": a.stock }, t("art.out"));
    }
    return h("span", { class: a.alert ? "tag tag-warn" : "tag", "data-testid": "stock",
      "data-alert": a.alert ? "true" : "false", "data-stock": a.stock },
    a.alert ? `⚠ ${t("art.alert")} · ${t("art.stock", { n: a.stock })}` : t("art.stock", { n: a.stock }));
  }

  function soldOut(a) {
    return a.stock !== null && a.stock !== undefined && a.stock <= 0 && !a.allow_negative;
  }

  function renderGrid() {
    if (!byId.size) {
      grid.replaceChildren(h("p", { class: "muted" }, t("art.none")));
      return;
    }
    const families = new Map();
    for (const a of byId.values()) {
      if (!families.has(a.family)) families.set(a.family, []);
      families.get(a.family).push(a);
    }
    grid.replaceChildren(...[...families].map(([family, list]) => h("section", { class: "article-family" },
      h("h3", {}, family || ""),
      h("div", { class: "article-grid" }, list.map((a) => h("button", {
        type: "button", class: "btn article-btn", "data-testid": "article", "data-article-id": a.id,
        "aria-label": `${t("art.add", { name: a.name })}, ${money(a.price_cents, a.currency)}`,
        disabled: soldOut(a),
        onclick: () => {
          basket.set(a.id, (basket.get(a.id) || 0) + 1);
          renderBasket();
        },
      }, h("strong", {}, a.name), h("span", {}, money(a.price_cents, a.currency)), stockTag(a)))))));
  }

  function total() {
    let sum = 0;
    for (const [id, n] of basket) sum += (byId.get(id)?.price_cents || 0) * n;
    return sum;
  }

  function renderBasket() {
    lines.replaceChildren(...[...basket].map(([id, n]) => {
      const a = byId.get(id);
      return h("li", { class: "basket-item", "data-testid": "article-line", "data-article-id": id },
        h("span", { class: "line-label" }, `${a.name} × ${n}`),
        h("span", { class: "line-price" }, money(a.price_cents * n, a.currency)),
        h("button", { type: "button", class: "btn-icon", "aria-label": t("art.remove", { name: a.name }),
          onclick: () => {
            if (n > 1) basket.set(id, n - 1);
            else basket.delete(id);
            renderBasket();
          } }, "×"));
    }));
    empty.hidden = basket.size > 0;
    payBox.hidden = basket.size === 0;
    pay.setTotal(total());
  }

  async function sell(payments, summary) {
    const rs = ctx.registerSession();
    if (!rs || !basket.size) return;
    key = key || randomKey();
    pay.setBusy(true);
    try {
      const entry = await api("POST", `/api/register-sessions/${rs.id}/sales`, {
        idempotency_key: key, items: [...basket].map(([article_id, quantity]) => ({ article_id, quantity })),
        payments,
      });
      key = null;
      basket.clear();
      renderBasket();
      pay.reset();
      await ctx.afterSale({ journal_id: entry.id, receipt_no: entry.receipt_no }, summary?.changeCents ?? 0);
    } catch (err) {
      if (err.status !== 0 && err.status !== 503) key = null; // a network retry keeps its key
      let text = errorText(err);
      if (err.code === "out_of_stock") {
        const short = (err.details.articles || []).map((x) => {
          const a = byId.get(x.article_id);
          if (a) {
            a.stock = x.stock;
            a.alert = true;
          }
          return t("art.left", { name: a?.name ?? `#${x.article_id}`, n: x.stock });
        });
        text += ` — ${t("art.short", { list: short.join(" ; ") })}`;
        renderGrid();
      }
      pay.showError(text, err.code);
      notify(text);
    } finally {
      pay.setBusy(false);
    }
  }

  function onStock(m) {
    if (m.type !== PROTOCOL.SERVER.STOCK || !Array.isArray(m.articles)) return;
    let changed = false;
    for (const level of m.articles) {
      const a = byId.get(level.id);
      if (!a || (level.version ?? 0) < a.version) continue; // an older level arriving late
      a.version = level.version ?? a.version;
      a.stock = level.stock;
      a.alert = Boolean(level.alert);
      changed = true;
    }
    if (changed) renderGrid();
  }

  renderGrid();
  renderBasket();
  if (pointOfSaleId) sub = ctx.live.subscribe(`${PROTOCOL.CHANNEL.STOCK}:${pointOfSaleId}`, onStock);
  return { close: () => sub?.close(), list: () => [...byId.values()] };
}
