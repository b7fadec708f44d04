"""The statistics' rollups are the base tables summed, after any write the figures depend
on: a sale, a refund, a reservation paid or turned back, an entry made or undone, a journal
entry for an order. Checked against the same queries run over every ticket and every line.
The writes made here directly in SQL are rolled back at the end."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from server.accounting.rollups import BLOCK, BLOCK_FIGURES, QUARTER_FIGURES, refresh
from tests import support
from tests.accounting.helpers import Trade


class _Undo(Exception):
    pass


async def _rolled_up(conn: asyncpg.Connection) -> tuple[set[Any], set[Any]]:
    blocks = await conn.fetch(
        "SELECT block, session_id, tariff_id, sold, entered, unentered, revenue_cents"
        " FROM stats_ticket_blocks"
    )
    quarters = await conn.fetch(
        "SELECT quarter, channel, currency, lines, tickets, gross_cents FROM stats_sales_quarters"
    )
    return {tuple(r) for r in blocks}, {tuple(r) for r in quarters}


async def _recomputed(conn: asyncpg.Connection) -> tuple[set[Any], set[Any]]:
    every = [r[0] for r in await conn.fetch(f"SELECT DISTINCT id / {BLOCK} FROM tickets")]
    blocks = await conn.fetch(BLOCK_FIGURES, every)
    start, end = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    quarters = await conn.fetch(QUARTER_FIGURES, start, end, *[None] * 6)
    return {tuple(r) for r in blocks}, {tuple(r) for r in quarters}


async def _agree(conn: asyncpg.Connection) -> None:
    await refresh(conn)
    rolled, fresh = await _rolled_up(conn), await _recomputed(conn)
    assert rolled[0] == fresh[0]
    assert rolled[1] == fresh[1]


async def test_the_rollups_are_the_base_tables_summed_after_each_write(day: Trade) -> None:
    conn = await asyncpg.connect(support.testing_database_url())
    try:
        await _agree(conn)  # after the trade made through the API
        with pytest.raises(_Undo):
            async with conn.transaction():
                sold = await conn.fetchrow(
                    "SELECT t.id, t.order_id, t.session_id FROM tickets t"
                    " JOIN orders o ON o.id = t.order_id"
                    " WHERE o.kind = 'sale' AND t.status = 'active'"
                    "   AND NOT EXISTS (SELECT 1 FROM journal j WHERE j.order_id = o.id)"
                    " ORDER BY t.id DESC LIMIT 1"
                )
                # an e-shop order turned back into a reservation, then paid again
                await conn.execute("UPDATE orders SET kind = 'reservation' WHERE id = $1", sold[1])
                await _agree(conn)
                await conn.execute(
                    "UPDATE orders SET kind = 'sale', created_at = created_at - interval '1 day'"
                    " WHERE id = $1",
                    sold[1],
                )
                await _agree(conn)
                # its ticket refunded (the revocation a refund writes, then the status)
                await conn.execute(
                    "INSERT INTO revocations (ticket_id, seed, reason)"
                    " VALUES ($1, '\\x00', 'refunded')",
                    sold[0],
                )
                await conn.execute("UPDATE tickets SET status = 'refunded' WHERE id = $1", sold[0])
                await _agree(conn)
                # an entry undone
                await conn.execute(
                    "DELETE FROM entries WHERE (session_id, ticket_id) IN"
                    " (SELECT session_id, ticket_id FROM entries ORDER BY entered_at DESC LIMIT 1)"
                )
                await _agree(conn)
                raise _Undo
        await _agree(conn)  # the rollback's marks brought back the figures as they were
    finally:
        await conn.close()
