// Articles at the desk (drinks, programmes, merchandise): shown only when the server has them
// (GET /api/articles answers 200; 404 until the articles work lands). A basket of articles is
// paid like tickets (pos-pay.js) with POST /api/register-sessions/{id}/sales
// {idempotency_key, items: [{article_id, quantity}], payments}; stock comes live on the
// `stock:<point_of_sale_id>` channel as {id, stock, alert}.

import { h } from "./dom.js";
import { register, t } from "./i18n.js";
import { paymentPanel } from "./pos-pay.js";
import { money, randomKey } from "./pos-util.js";
import { ApiError, api, errorText, notify } from "./session.js";

register({
  fr: {
    "art.title": "Articles",
    "art.none": "Aucun article en vente ici.",
    "art.stock": "Stock : {n}",
    "art.alert": "Stock bas",
    "art.out": "Épuisé",
    "art.add": "Ajouter {name}",
    "art.basket": "Panier d'articles",
    "art.empty": "Touchez un article pour l'ajouter.",
    "art.remove": "Retirer {name}",
  },
  en: {
    "art.title": "Articles",
    "art.none": "No article on sale here.",
    "art.stock": "Stock: {n}",
    "art.alert": "Low stock",
    "art.out": "Sold out",
    "art.add": "Add {name}",
    "art.basket": "Articles basket",
    "art.empty": "Tap an article to add it.",
    "art.remove": "Remove {name}",
  },
});

/** The articles on sale, or null when the server has no articles yet (404). */
export async function probeArticles() {
  try {
    const body = await api("GET", "/api/articles");
    return body?.articles || body?.items || [];
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 405)) return null;
    throw err;
  }
}

export function mountArticles(ctx, root, articles) {
  const byId = new Map(articles.map((a) => [a.id, { ...a }]));
  const basket = new Map(); // article id -> quantity
  let key = null;
  let sub = null;
  const grid = h("div", { class: "article-grid", "data-testid": "articles" });
  const lines = h("ul", { class: "basket-items", "data-testid": "article-basket" });
  const empty = h("p", { class: "muted" }, t("art.empty"));
  const currency = () => articles[0]?.currency || ctx.currency();
  const pay = paymentPanel({ currency: currency(), onPay: (payments, summary) => sell(payments, summary) });
  const payBox = h("div", { hidden: true }, pay.element);
  root.replaceChildren(h("div", { class: "sell-layout" },
    h("section", { "aria-labelledby": "art-title" }, h("h2", { id: "art-title" }, t("art.title")), grid),
    h("aside", { class: "basket", "aria-labelledby": "art-basket-title" },
      h("h2", { id: "art-basket-title" }, t("art.basket")), empty, lines, payBox)));

  function stockTag(a) {
    if (a.stock === undefined || a.stock === null) return null;
    if (a.stock <= 0) return h("span", { class: "tag tag-off", "data-testid": "stock-out" }, t("art.out"));
    return h("span", { class: a.alert ? "tag tag-warn" : "tag", "data-testid": "stock",
      "data-alert": a.alert ? "true" : "false" },
    a.alert ? `⚠ ${t("art.alert")} · ${t("art.stock", { n: a.stock })}` : t("art.stock", { n: a.stock }));
  }

  function renderGrid() {
    if (!byId.size) {
      grid.replaceChildren(h("p", { class: "muted" }, t("art.none")));
      return;
    }
    grid.replaceChildren(...[...byId.values()].map((a) => h("button", {
      type: "button", class: "btn article-btn", "data-testid": "article", "data-article-id": a.id,
      "aria-label": t("art.add", { name: a.name }), disabled: a.stock !== undefined && a.stock !== null && a.stock <= 0,
      onclick: () => {
        basket.set(a.id, (basket.get(a.id) || 0) + 1);
        renderBasket();
      },
    }, h("strong", {}, a.name), h("span", {}, money(a.price_cents, a.currency || currency())), stockTag(a))));
  }

  function total() {
    let sum = 0;
    for (const [id, n] of basket) sum += (byId.get(id)?.price_cents || 0) * n;
    return sum;
  }

  function renderBasket() {
    lines.replaceChildren(...[...basket].map(([id, n]) => {
      const a = byId.get(id);
      return h("li", { class: "basket-item", "data-testid": "article-line" },
        h("span", { class: "line-label" }, `${a.name} × ${n}`),
        h("span", { class: "line-price" }, money(a.price_cents * n, currency())),
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
      const done = await api("POST", `/api/register-sessions/${rs.id}/sales`, {
        idempotency_key: key, items: [...basket].map(([article_id, quantity]) => ({ article_id, quantity })),
        payments,
      });
      key = null;
      basket.clear();
      renderBasket();
      pay.reset();
      await ctx.afterSale(done.receipt || done, summary?.changeCents ?? 0);
    } catch (err) {
      if (err.status !== 0 && err.status !== 503) key = null;
      pay.showError(errorText(err), err.code);
      notify(errorText(err));
    } finally {
      pay.setBusy(false);
    }
  }

  renderGrid();
  renderBasket();
  const posId = ctx.registerOf(ctx.registerSession()?.register_id)?.point_of_sale_id;
  if (posId) {
    sub = ctx.live.subscribe(`stock:${posId}`, (m) => {
      const a = byId.get(m.id);
      if (!a || m.stock === undefined) return;
      a.stock = m.stock;
      a.alert = Boolean(m.alert);
      renderGrid();
    });
  }
  return { close: () => sub?.close() };
}
