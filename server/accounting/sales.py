"""The sales statement: every sale and refund line of a period, whatever sold it.

Four sources, one row shape (``LINES``):

- the journal: the lines of ``sale`` and ``refund`` entries (tickets, articles, passes) at
  the desks, and of ``wallet_debit`` entries at the bars, as journalled (figures never
  recomputed); the payment method is the entry's (``card+cash`` for a split payment);
- the e-shop: each ticket of a sale order that has no journal entry, at the order's time,
  paid ``online``, taxed at its tariff's rate (split as ``till.money.split_gross`` does);
- its refunds: each such ticket refunded, as a negative line at the time of the
  revocation the refund wrote;
- the passes and articles of the shop's cart orders (``order_products``, docs/shop.md),
  as snapshotted when the order was paid.

A sale made by a cashier outside any register (an order with no journal entry on the
``pos`` channel) is listed on channel ``off_register``, with no method.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg

from server.accounting.csvcopy import Query
from server.accounting.exports import Column, Sheet, batches
from server.accounting.period import Filters
from server.web.requests import Page

# The tax of a gross amount g at r basis points, rounded half away from zero.
_TAX = "sign({g})::bigint * ((2 * abs({g}) * {r} + (10000 + {r})) / (2 * (10000 + {r})))"

_DESK = """
SELECT j.created_at AS paid_at, s.starts_at AS event_at,
       CASE WHEN j.kind = 'wallet_debit' THEN 'bar' ELSE 'desk' END AS channel,
       CASE WHEN j.kind = 'refund' THEN 'refund' ELSE 'sale' END AS kind,
       r.point_of_sale_id, pos.name AS point_of_sale, j.register_id, r.name AS register,
       j.cashier_id, u.username AS cashier, t.session_id, s.event_name AS event,
       j.id AS journal_id, j.receipt_no, j.order_id, l.line_no, l.ticket_id, l.tariff_id,
       l.article_id, l.pass_id, l.description, l.quantity, l.unit_gross_cents,
       l.tax_rate_bp, l.net_cents, l.tax_cents, l.gross_cents, j.currency,
       m.method, m.methods, {keys}
  FROM journal j
  JOIN journal_lines l ON l.journal_id = j.id
  JOIN registers r ON r.id = j.register_id
  JOIN points_of_sale pos ON pos.id = r.point_of_sale_id
  JOIN users u ON u.id = j.cashier_id
  LEFT JOIN tickets t ON t.id = l.ticket_id
  LEFT JOIN sessions s ON s.id = t.session_id
  CROSS JOIN LATERAL (
      SELECT string_agg(DISTINCT p.method, '+' ORDER BY p.method) AS method,
             coalesce(array_agg(DISTINCT p.method), '{}') AS methods
        FROM journal_payments p WHERE p.journal_id = j.id) m
 WHERE j.kind IN ('sale', 'refund', 'wallet_debit')
   AND j.created_at >= $1 AND j.created_at < $2
"""

_SHOP = """
SELECT {at} AS paid_at, s.starts_at AS event_at,
       CASE WHEN o.channel = 'web' THEN 'eshop' ELSE 'off_register' END AS channel,
       '{kind}' AS kind,
       CASE WHEN o.channel = 'web' THEN e.id END AS point_of_sale_id,
       CASE WHEN o.channel = 'web' THEN e.name END AS point_of_sale,
       NULL::bigint AS register_id, NULL::text AS register,
       o.created_by AS cashier_id, u.username AS cashier, t.session_id,
       s.event_name AS event, NULL::bigint AS journal_id, NULL::bigint AS receipt_no,
       o.id AS order_id, NULL::integer AS line_no, t.id AS ticket_id, t.tariff_id,
       NULL::bigint AS article_id, NULL::bigint AS pass_id, tf.name AS description,
       {sign} AS quantity, t.price_cents::bigint AS unit_gross_cents,
       tf.tax_rate_bp, {sign} * (t.price_cents - x.tax) AS net_cents,
       {sign} * x.tax AS tax_cents, {sign} * t.price_cents::bigint AS gross_cents,
       o.currency::text AS currency,
       CASE WHEN o.channel = 'web' THEN 'online' END AS method,
       CASE WHEN o.channel = 'web' THEN ARRAY['online'] ELSE '{{}}'::text[] END AS methods,
       {keys}
  FROM {source}
  JOIN tariffs tf ON tf.id = t.tariff_id
  JOIN sessions s ON s.id = t.session_id
  LEFT JOIN users u ON u.id = o.created_by
  LEFT JOIN LATERAL (SELECT id, name FROM points_of_sale WHERE kind = 'eshop'
                      ORDER BY id LIMIT 1) e ON true
  CROSS JOIN LATERAL (SELECT {tax} AS tax) x
 WHERE o.kind IN ('sale', 'cart') AND {at} >= $1 AND {at} < $2
   AND NOT EXISTS (SELECT 1 FROM journal jj WHERE jj.order_id = o.id)
"""
_TICKET_TAX = _TAX.format(g="t.price_cents::bigint", r="tf.tax_rate_bp")
_KEYS = (
    "coalesce({j}, 0)::bigint AS k_journal, coalesce({o}, 0)::bigint AS k_order,"
    " coalesce({n}, 0) AS k_line, coalesce({t}, 0)::bigint AS k_ticket"
)
_DESK_LINES = _DESK.replace(
    "{keys}", _KEYS.format(j="j.id", o="j.order_id", n="l.line_no", t="l.ticket_id")
)
_SHOP_KEYS = _KEYS.format(j="NULL::bigint", o="o.id", n="NULL::integer", t="t.id")
# An order's tickets by the index on their order, order after order (OFFSET 0 keeps the
# lateral apart: joined whole, Postgres would hash every ticket of every period to find a
# day's).
_ORDER_TICKETS = (
    "orders o CROSS JOIN LATERAL (SELECT * FROM tickets t WHERE t.order_id = o.id OFFSET 0) t"
)
_SHOP_SALES = _SHOP.format(
    at="o.created_at",
    kind="sale",
    sign="1",
    source=_ORDER_TICKETS,
    tax=_TICKET_TAX,
    keys=_SHOP_KEYS,
)
_SHOP_REFUNDS = _SHOP.format(
    at="v.revoked_at",
    kind="refund",
    sign="-1",
    source="revocations v JOIN tickets t ON t.id = v.ticket_id AND t.status = 'refunded'"
    " AND v.reason = 'refunded' JOIN orders o ON o.id = t.order_id",
    tax=_TICKET_TAX,
    keys=_SHOP_KEYS,
)
_SHOP_PRODUCTS = """
SELECT o.created_at AS paid_at, NULL::timestamptz AS event_at, 'eshop' AS channel,
       'sale' AS kind, e.id AS point_of_sale_id, e.name AS point_of_sale,
       NULL::bigint AS register_id, NULL::text AS register, NULL::bigint AS cashier_id,
       NULL::text AS cashier, NULL::bigint AS session_id, NULL::text AS event,
       NULL::bigint AS journal_id, NULL::bigint AS receipt_no, o.id AS order_id,
       NULL::integer AS line_no, NULL::bigint AS ticket_id, NULL::bigint AS tariff_id,
       p.article_id, p.pass_id, p.description, p.quantity, p.unit_cents AS unit_gross_cents,
       p.tax_rate_bp, p.net_cents, p.tax_cents, p.gross_cents, o.currency::text AS currency,
       'online' AS method, ARRAY['online'] AS methods, {keys}
  FROM order_products p
  JOIN orders o ON o.id = p.order_id
  LEFT JOIN LATERAL (SELECT id, name FROM points_of_sale WHERE kind = 'eshop'
                      ORDER BY id LIMIT 1) e ON true
 WHERE o.created_at >= $1 AND o.created_at < $2
""".replace(
    # a cart order's products after its tickets: ordered by their own id in the ticket key
    "{keys}",
    _KEYS.format(j="NULL::bigint", o="o.id", n="NULL::integer", t="(1::bigint << 62) + p.id"),
)
ORDER = " ORDER BY paid_at, k_journal, k_order, kind, k_line, k_ticket"
"""The statement's order: time of payment, then the journal entry (e-shop lines first),
the order, sale before refund, line and ticket (the ``k_`` columns: those, 0 for none)."""


def _lines(ordered: bool) -> str:
    branches: tuple[str, ...] = (_DESK_LINES, _SHOP_SALES, _SHOP_REFUNDS, _SHOP_PRODUCTS)
    if ordered:  # each source sorted on its own, the four merged: no sort of all the lines
        branches = tuple(f"({b}{ORDER})" for b in branches)
    return f"""
SELECT * FROM ({" UNION ALL ".join(branches)}) x
 WHERE ($3::text IS NULL OR x.channel = $3)
   AND ($4::bigint IS NULL OR x.point_of_sale_id = $4)
   AND ($5::bigint IS NULL OR x.register_id = $5)
   AND ($6::bigint IS NULL OR x.cashier_id = $6)
   AND ($7::bigint IS NULL OR x.session_id = $7)
   AND ($8::text IS NULL OR $8 = ANY(x.methods))
"""


LINES = _lines(False)
"""Every line of the statement under the filters ($1…$8 of ``Filters.args``)."""
ORDERED_LINES = _lines(True)
"""The same, each source in the statement's ``ORDER``: listed in that order, Postgres merges
them instead of sorting every line (read them ``ORDER BY``-ed all the same)."""

COLUMNS = (
    Column("paid_at", "time"),
    Column("event_at", "time"),
    Column("channel", "code"),
    Column("kind", "code"),
    Column("point_of_sale_id", "int"),
    Column("point_of_sale"),
    Column("register_id", "int"),
    Column("register"),
    Column("cashier_id", "int"),
    Column("cashier"),
    Column("session_id", "int"),
    Column("event"),
    Column("journal_id", "int"),
    Column("receipt_no", "int"),
    Column("order_id", "int"),
    Column("ticket_id", "int"),
    Column("tariff_id", "int"),
    Column("article_id", "int"),
    Column("pass_id", "int"),
    Column("description"),
    Column("quantity", "int"),
    Column("unit_gross_cents", "cents", "unit_gross"),
    Column("tax_rate_bp", "percent", "tax_rate_percent"),
    Column("net_cents", "cents", "net"),
    Column("tax_cents", "cents", "tax"),
    Column("gross_cents", "cents", "gross"),
    Column("currency", "code"),
    Column("method", "code"),
)
_SELECT = ", ".join(c.key for c in COLUMNS)

_BY_RATE = f"""
SELECT currency, tax_rate_bp, count(*) AS lines, sum(net_cents)::bigint AS net_cents,
       sum(tax_cents)::bigint AS tax_cents, sum(gross_cents)::bigint AS gross_cents
  FROM ({LINES}) l GROUP BY currency, tax_rate_bp ORDER BY currency, tax_rate_bp
"""
_BY_METHOD = f"""
WITH l AS MATERIALIZED ({LINES})
SELECT p.currency, p.method, sum(p.amount_cents)::bigint AS amount_cents
  FROM journal_payments p
 WHERE p.journal_id IN (SELECT journal_id FROM l WHERE journal_id IS NOT NULL)
   AND ($8::text IS NULL OR p.method = $8)
 GROUP BY p.currency, p.method
UNION ALL
SELECT currency, 'online', sum(gross_cents)::bigint FROM l WHERE channel = 'eshop'
 GROUP BY currency
ORDER BY 1, 2
"""


def line_json(row: Any) -> dict[str, Any]:
    line = {c.key: row[c.key] for c in COLUMNS}
    line["ticket_status"] = row["ticket_status"]
    for key in ("paid_at", "event_at"):
        if line[key] is not None:
            line[key] = line[key].isoformat()
    return line


async def page(conn: asyncpg.Connection, f: Filters, pg: Page) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT {_SELECT}, (SELECT tt.status FROM tickets tt WHERE tt.id = s.ticket_id)"
        f" AS ticket_status FROM ({ORDERED_LINES}) s{ORDER}{pg.sql()}",
        *f.args(),
    )
    return [line_json(r) for r in rows]


async def totals(conn: asyncpg.Connection, f: Filters) -> dict[str, Any]:
    """Per currency and tax rate (net, tax, gross of the lines) and per currency and
    payment method (the payments of the journal entries listed, and the e-shop's lines).
    With a filter on a session, an entry listed counts all its payments; with a filter on
    a method, only that method's payments count."""
    by_rate = [dict(r) for r in await conn.fetch(_BY_RATE, *f.args())]
    by_method = [dict(r) for r in await conn.fetch(_BY_METHOD, *f.args())]
    currencies = sorted({r["currency"] for r in by_rate})
    overall = [
        {
            "currency": c,
            "lines": sum(r["lines"] for r in by_rate if r["currency"] == c),
            **{
                k: sum(r[k] for r in by_rate if r["currency"] == c)
                for k in ("net_cents", "tax_cents", "gross_cents")
            },
        }
        for c in currencies
    ]
    return {"overall": overall, "by_rate": by_rate, "by_method": by_method}


def sheet(pool: asyncpg.Pool, f: Filters) -> Sheet:
    async def rows() -> AsyncIterator[Sequence[Any]]:
        sql = f"SELECT {_SELECT} FROM ({ORDERED_LINES}) s{ORDER}"
        async for batch in batches(pool, sql, f.args()):
            yield batch

    return Sheet("sales", COLUMNS, rows, Query(pool, f"({ORDERED_LINES}) s", ORDER, f.args()))


COUNT = f"SELECT count(*) FROM ({LINES}) s"
"""How many lines the statement has under the filters (an export job's total)."""
