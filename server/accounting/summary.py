"""The accounting statement of a period: takings per day, payment method and point of sale;
sales per tariff or article, unit price and tax rate; totals per tax rate; the wallet's
float and movements; what is still open (unpaid reservations).

Takings and items are read from the sales statement's lines (``sales.LINES``) under the
same filters, so the two statements cannot disagree; the wallet is read from the ledger,
and reservations from the orders (as they stand now)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg

from server.accounting.exports import Column, Sheet
from server.accounting.period import Filters
from server.accounting.sales import LINES, totals

_BY_DAY = f"""
WITH l AS MATERIALIZED ({LINES}),
entries AS (SELECT DISTINCT journal_id, point_of_sale_id, point_of_sale
              FROM l WHERE journal_id IS NOT NULL),
moves AS (
    SELECT j.created_at AS at, p.method, e.point_of_sale_id, e.point_of_sale, p.currency,
           p.amount_cents AS sales, 0::bigint AS topups, j.id AS entry
      FROM entries e JOIN journal j ON j.id = e.journal_id
      JOIN journal_payments p ON p.journal_id = j.id
     WHERE $8::text IS NULL OR p.method = $8
    UNION ALL
    SELECT paid_at, 'online', point_of_sale_id, point_of_sale, currency, gross_cents, 0,
           NULL
      FROM l WHERE channel = 'eshop'
    UNION ALL
    SELECT j.created_at, p.method, r.point_of_sale_id, pos.name, p.currency, 0,
           p.amount_cents, j.id
      FROM journal j JOIN registers r ON r.id = j.register_id
      JOIN points_of_sale pos ON pos.id = r.point_of_sale_id
      JOIN journal_payments p ON p.journal_id = j.id
     WHERE j.kind = 'wallet_topup' AND j.created_at >= $1 AND j.created_at < $2
       AND ($3::text IS NULL OR $3 = 'desk')
       AND ($4::bigint IS NULL OR r.point_of_sale_id = $4)
       AND ($5::bigint IS NULL OR j.register_id = $5)
       AND ($6::bigint IS NULL OR j.cashier_id = $6)
       AND $7::bigint IS NULL
       AND ($8::text IS NULL OR p.method = $8)
)
SELECT (at AT TIME ZONE $9)::date AS day, method, point_of_sale_id, point_of_sale, currency,
       sum(sales)::bigint AS sales_cents, sum(topups)::bigint AS topups_cents,
       count(DISTINCT entry) AS entries
  FROM moves GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 4, 2, 5
"""
_BY_ITEM = f"""
SELECT currency,
       CASE WHEN article_id IS NOT NULL THEN 'article' WHEN pass_id IS NOT NULL THEN 'pass'
            WHEN tariff_id IS NOT NULL THEN 'tariff' ELSE 'amount' END AS item,
       coalesce(tariff_id, article_id) AS item_id, description, unit_gross_cents,
       tax_rate_bp, sum(quantity)::bigint AS quantity, sum(net_cents)::bigint AS net_cents,
       sum(tax_cents)::bigint AS tax_cents, sum(gross_cents)::bigint AS gross_cents
  FROM ({LINES}) l
 GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 4, 3, 5, 6
"""
# A wallet's money moves in (to its account) or out (from it); the float at a time is what
# moved in less what moved out before it.
_LEDGER = """
  FROM ledger_transactions t
  JOIN ledger_accounts fa ON fa.id = t.from_account
  JOIN ledger_accounts ta ON ta.id = t.to_account
"""
_IN = "t.amount_cents * (ta.kind = 'wallet')::int"
_OUT = "t.amount_cents * (fa.kind = 'wallet')::int"
_WALLET_MOVES = f"""
SELECT t.currency, t.kind, count(*) AS transactions,
       sum({_IN})::bigint AS into_wallets_cents, sum({_OUT})::bigint AS out_of_wallets_cents
{_LEDGER}
 WHERE t.created_at >= $1 AND t.created_at < $2
 GROUP BY 1, 2 ORDER BY 1, 2
"""
_WALLET_FLOAT = f"""
SELECT t.currency,
       coalesce(sum({_IN} - {_OUT}) FILTER (WHERE t.created_at < $1), 0)::bigint
           AS start_cents,
       coalesce(sum({_IN} - {_OUT}), 0)::bigint AS end_cents
{_LEDGER}
 WHERE t.created_at < $2
 GROUP BY 1 ORDER BY 1
"""
_OPEN = """
SELECT o.currency::text AS currency, count(DISTINCT o.id) AS reservations,
       count(*) AS tickets, sum(t.price_cents)::bigint AS amount_cents
  FROM orders o JOIN tickets t ON t.order_id = o.id AND t.status = 'active'
 WHERE o.kind = 'reservation' AND ($1::bigint IS NULL OR t.session_id = $1)
 GROUP BY 1 ORDER BY 1
"""

BY_DAY = (
    Column("day", "day"),
    Column("method"),
    Column("point_of_sale_id", "int"),
    Column("point_of_sale"),
    Column("currency"),
    Column("entries", "int"),
    Column("sales_cents", "cents", "sales"),
    Column("topups_cents", "cents", "wallet_topups"),
)
BY_ITEM = (
    Column("currency"),
    Column("item"),
    Column("item_id", "int"),
    Column("description"),
    Column("unit_gross_cents", "cents", "unit_gross"),
    Column("tax_rate_bp", "percent", "tax_rate_percent"),
    Column("quantity", "int"),
    Column("net_cents", "cents", "net"),
    Column("tax_cents", "cents", "tax"),
    Column("gross_cents", "cents", "gross"),
)
BY_RATE = (
    Column("currency"),
    Column("tax_rate_bp", "percent", "tax_rate_percent"),
    Column("lines", "int"),
    Column("net_cents", "cents", "net"),
    Column("tax_cents", "cents", "tax"),
    Column("gross_cents", "cents", "gross"),
)
BY_METHOD = (
    Column("currency"),
    Column("method"),
    Column("amount_cents", "cents", "amount"),
)
WALLET_FLOAT = (
    Column("currency"),
    Column("start_cents", "cents", "float_at_start"),
    Column("end_cents", "cents", "float_at_end"),
)
WALLET_MOVES = (
    Column("currency"),
    Column("kind"),
    Column("transactions", "int"),
    Column("into_wallets_cents", "cents", "into_wallets"),
    Column("out_of_wallets_cents", "cents", "out_of_wallets"),
)
OPEN = (
    Column("currency"),
    Column("reservations", "int"),
    Column("tickets", "int"),
    Column("amount_cents", "cents", "amount"),
)
SECTIONS: tuple[tuple[str, str, tuple[Column, ...]], ...] = (
    ("by_day", "takings by day", BY_DAY),
    ("by_item", "sales by item", BY_ITEM),
    ("by_rate", "sales by tax rate", BY_RATE),
    ("by_method", "sales by method", BY_METHOD),
    ("wallet_float", "wallet float", WALLET_FLOAT),
    ("wallet_movements", "wallet movements", WALLET_MOVES),
    ("open", "unpaid reservations", OPEN),
)


def _rows(records: Sequence[asyncpg.Record]) -> list[dict[str, Any]]:
    return [dict(r) for r in records]


async def statement(conn: asyncpg.Connection, f: Filters) -> dict[str, Any]:
    """Every section (``SECTIONS``), as lists of rows; days are ISO dates."""
    args = f.args()
    by_day = _rows(await conn.fetch(_BY_DAY, *args, f.period.tz))
    for row in by_day:
        row["day"] = row["day"].isoformat()
    sums = await totals(conn, f)
    return {
        "from": f.period.start.isoformat(),
        "to": f.period.end.isoformat(),
        "tz": f.period.tz,
        "by_day": by_day,
        "by_item": _rows(await conn.fetch(_BY_ITEM, *args)),
        "by_rate": sums["by_rate"],
        "by_method": sums["by_method"],
        "wallet_float": _rows(await conn.fetch(_WALLET_FLOAT, f.period.start, f.period.end)),
        "wallet_movements": _rows(await conn.fetch(_WALLET_MOVES, f.period.start, f.period.end)),
        "open": _rows(await conn.fetch(_OPEN, f.session_id)),
    }


def sheets(found: dict[str, Any]) -> list[Sheet]:
    """The statement's sections as sheets (already computed: they are sums, not lines)."""

    def source(rows: list[dict[str, Any]]) -> Any:
        async def batches() -> AsyncIterator[Sequence[Any]]:
            yield rows

        return batches

    return [Sheet(title, columns, source(found[key])) for key, title, columns in SECTIONS]
