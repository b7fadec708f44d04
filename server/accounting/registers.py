"""The register statement: each register session opened in a period, with its float, cash
operations, takings by payment method, wallet top-ups, and, once closed, the count, the
expected cash, the difference, the Z number and the chain head at the close.

Everything but the float and the close is summed from the session's journal entries; the
close is what the Z report stored (``server/cash/registers.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg

from server.accounting.exports import Column, Sheet, batches
from server.accounting.period import Period
from server.web.requests import Page

_OPS = "('credit', 'debit', 'credit_error', 'debit_error')"


def _paid(kind: str, method: str, sign: str = "") -> str:
    return (
        f"coalesce({sign}sum(p.amount_cents) FILTER (WHERE j.kind = '{kind}'"
        f" AND p.method = '{method}'), 0)::bigint"
    )


SESSIONS = f"""
SELECT rs.id AS register_session_id, rs.register_id, r.name AS register,
       r.point_of_sale_id, pos.name AS point_of_sale, rs.cashier_id,
       u.username AS cashier, rs.opened_at, rs.closed_at, rs.currency,
       rs.handed_over_from, rs.opening_cents AS float_cents,
       a.operations, a.operations_cents, a.sales, a.sales_cash_cents, a.sales_card_cents,
       a.refunds_cash_cents, a.refunds_card_cents, a.topups_cash_cents, a.topups_card_cents,
       rs.counted_cents, rs.expected_cents, rs.difference_cents, rs.z_number,
       encode(rs.z_hash, 'hex') AS z_hash
  FROM register_sessions rs
  JOIN registers r ON r.id = rs.register_id
  JOIN points_of_sale pos ON pos.id = r.point_of_sale_id
  JOIN users u ON u.id = rs.cashier_id
  CROSS JOIN LATERAL (
      SELECT count(DISTINCT j.id) FILTER (WHERE j.kind IN {_OPS}) AS operations,
             coalesce(sum(p.amount_cents) FILTER (WHERE j.kind IN {_OPS}), 0)::bigint
                 AS operations_cents,
             count(DISTINCT j.id) FILTER (WHERE j.kind = 'sale') AS sales,
             {_paid("sale", "cash")} AS sales_cash_cents,
             {_paid("sale", "card")} AS sales_card_cents,
             {_paid("refund", "cash", "-")} AS refunds_cash_cents,
             {_paid("refund", "card", "-")} AS refunds_card_cents,
             {_paid("wallet_topup", "cash")} AS topups_cash_cents,
             {_paid("wallet_topup", "card")} AS topups_card_cents
        FROM journal j LEFT JOIN journal_payments p ON p.journal_id = j.id
       WHERE j.register_session_id = rs.id) a
 WHERE rs.opened_at >= $1 AND rs.opened_at < $2
   AND ($3::bigint IS NULL OR r.point_of_sale_id = $3)
   AND ($4::bigint IS NULL OR rs.register_id = $4)
   AND ($5::bigint IS NULL OR rs.cashier_id = $5)
"""
ORDER = " ORDER BY rs.opened_at, rs.id"
_SUMMED = (
    "float_cents",
    "operations",
    "operations_cents",
    "sales",
    "sales_cash_cents",
    "sales_card_cents",
    "refunds_cash_cents",
    "refunds_card_cents",
    "topups_cash_cents",
    "topups_card_cents",
    "counted_cents",
    "expected_cents",
    "difference_cents",
)
_TOTALS = (
    "SELECT currency, count(*) AS sessions, count(closed_at) AS closed, "
    + ", ".join(f"coalesce(sum({k}), 0)::bigint AS {k}" for k in _SUMMED)
    + f" FROM ({SESSIONS}) s GROUP BY currency ORDER BY currency"
)
COLUMNS = (
    Column("register_session_id", "int"),
    Column("register_id", "int"),
    Column("register"),
    Column("point_of_sale_id", "int"),
    Column("point_of_sale"),
    Column("cashier_id", "int"),
    Column("cashier"),
    Column("opened_at", "time"),
    Column("closed_at", "time"),
    Column("currency"),
    Column("handed_over_from", "int"),
    Column("float_cents", "cents", "float"),
    Column("operations", "int"),
    Column("operations_cents", "cents", "operations_net"),
    Column("sales", "int"),
    Column("sales_cash_cents", "cents", "sales_cash"),
    Column("sales_card_cents", "cents", "sales_card"),
    Column("refunds_cash_cents", "cents", "refunds_cash"),
    Column("refunds_card_cents", "cents", "refunds_card"),
    Column("topups_cash_cents", "cents", "wallet_topups_cash"),
    Column("topups_card_cents", "cents", "wallet_topups_card"),
    Column("counted_cents", "cents", "counted"),
    Column("expected_cents", "cents", "expected"),
    Column("difference_cents", "cents", "difference"),
    Column("z_number", "int"),
    Column("z_hash"),
)


def args(
    p: Period, point_of_sale_id: int | None, register_id: int | None, cashier_id: int | None
) -> list[object]:
    return [p.start, p.end, point_of_sale_id, register_id, cashier_id]


def session_json(row: Any) -> dict[str, Any]:
    out = dict(row)
    for key in ("opened_at", "closed_at"):
        if out[key] is not None:
            out[key] = out[key].isoformat()
    return out


async def page(conn: asyncpg.Connection, a: list[object], pg: Page) -> list[dict[str, Any]]:
    return [session_json(r) for r in await conn.fetch(SESSIONS + ORDER + pg.sql(), *a)]


async def totals(conn: asyncpg.Connection, a: list[object]) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(_TOTALS, *a)]


def sheet(pool: asyncpg.Pool, a: list[object]) -> Sheet:
    async def rows() -> AsyncIterator[Sequence[Any]]:
        async for batch in batches(pool, SESSIONS + ORDER, a):
            yield batch

    return Sheet("register sessions", COLUMNS, rows)
