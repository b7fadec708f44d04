"""Statements as export jobs: the same sheets as the direct downloads
(``server/accounting``), written to the job's file with the lines counted as they go.

A job's params: ``statement`` (``sales``, ``registers`` or ``accounting``), ``format``
(``csv`` or ``xlsx``) and ``query``, the period and filters as the direct download takes
them in its query string (checked when the job is queued, and again when it runs).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Literal

import asyncpg

from server.accounting import registers, sales, summary
from server.accounting.exports import Sheet, csv_chunks, write_xlsx
from server.accounting.period import FILTERS, PERIOD, filters_of, period_of, planned
from server.exports.worker import Output, Producer, Progress
from server.platform.db import connection
from server.web.requests import id_of

Statement = Literal["sales", "registers", "accounting"]
Format = Literal["csv", "xlsx"]
STATEMENTS: tuple[Statement, ...] = ("sales", "registers", "accounting")
FORMATS: tuple[Format, ...] = ("csv", "xlsx")
QUERY_NAMES = tuple(p.name for p in (*PERIOD, *FILTERS))
_REGISTER_NAMES = ("point_of_sale_id", "register_id", "cashier_id")


def query_of(statement: str, params: Mapping[str, str]) -> dict[str, str]:
    """The period and filters a statement takes, checked (400 as the direct download)."""
    query = {k: params[k] for k in QUERY_NAMES if params.get(k)}
    if statement == "registers":
        query = {k: v for k, v in query.items() if k in ("from", "to", "tz", *_REGISTER_NAMES)}
        period_of(query)
        for name in _REGISTER_NAMES:
            id_of(query, name, required=False)
    else:
        filters_of(query)
    return query


def file_name(params: Mapping[str, Any]) -> str:
    return f"{params['statement']}.{params['format']}"


async def _sheets(
    pool: asyncpg.Pool, statement: str, query: Mapping[str, str]
) -> tuple[list[Sheet], int | None]:
    """The statement's sheets and how many lines they hold (``None``: unknown)."""
    if statement == "registers":
        a = registers.args(
            period_of(query),
            *(id_of(query, n, required=False) for n in _REGISTER_NAMES),
        )
        return [registers.sheet(pool, a)], None
    f = filters_of(query)
    async with connection(pool) as conn, planned(conn):
        if statement == "accounting":
            found = await summary.statement(conn, f)
            sheets = summary.sheets(found)
            return sheets, sum(len(v) for v in found.values() if isinstance(v, list))
        total = await conn.fetchval(sales.COUNT, *f.args())
    return [sales.sheet(pool, f)], total


def _counted(sheet: Sheet, progress: Progress) -> Sheet:
    async def rows() -> AsyncIterator[Sequence[Any]]:
        async for batch in sheet.rows():
            yield batch
            await progress.add(len(batch))

    return Sheet(sheet.title, sheet.columns, rows)


def statement_producer(pool: asyncpg.Pool) -> Producer:
    async def produce(params: Mapping[str, Any], out: Output, progress: Progress) -> None:
        query = params["query"]
        sheets, progress.total = await _sheets(pool, params["statement"], query)
        tz = period_of(query).zone
        if params["format"] == "xlsx":
            await write_xlsx([_counted(s, progress) for s in sheets], tz, str(out.path))
            return
        f = await asyncio.to_thread(open, out.path, "wb")
        try:
            async for chunk in csv_chunks(sheets, tz, progress.add):
                await asyncio.to_thread(f.write, chunk)
        finally:
            await asyncio.to_thread(f.close)

    return produce
