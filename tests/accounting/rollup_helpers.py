"""The statistics' rollups against the same queries run over every ticket and every line."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg

from server.accounting.rollups import BLOCK, BLOCK_FIGURES, QUARTER_FIGURES, Scan, refresh

Figures = tuple[set[Any], set[Any]]


async def rolled_up(conn: asyncpg.Connection) -> Figures:
    blocks = await conn.fetch(
        "SELECT block, session_id, tariff_id, sold, entered, unentered, revenue_cents"
        " FROM stats_ticket_blocks"
    )
    quarters = await conn.fetch(
        "SELECT quarter, channel, currency, lines, tickets, gross_cents FROM stats_sales_quarters"
    )
    return {tuple(r) for r in blocks}, {tuple(r) for r in quarters}


async def recomputed(conn: asyncpg.Connection) -> Figures:
    every = [r[0] for r in await conn.fetch(f"SELECT DISTINCT id / {BLOCK} FROM tickets")]
    blocks = await conn.fetch(BLOCK_FIGURES, every)
    start, end = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    quarters = await conn.fetch(QUARTER_FIGURES, start, end, *[None] * 6)
    return {tuple(r) for r in blocks}, {tuple(r) for r in quarters}


async def agree(conn: asyncpg.Connection, scan: Scan = Scan.SAFE) -> bool:
    """Refreshed (with ``scan``), do the rollups equal the recomputation?"""
    await refresh(conn, scan)
    return await rolled_up(conn) == await recomputed(conn)


async def sold(conn: asyncpg.Connection, session_id: int) -> int:
    """The session's places sold, as the rollup has them."""
    found = await conn.fetchval(
        "SELECT sum(sold) FROM stats_ticket_blocks WHERE session_id = $1", session_id
    )
    return int(found or 0)
