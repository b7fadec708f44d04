"""The statistics' rollups (migration 0026): the figures of the tickets per block of 1,024
ticket ids, session and tariff (``stats_ticket_blocks``), and the sales statement's lines
per quarter of an hour, channel and currency (``stats_sales_quarters``).

Triggers append the blocks and quarters a write changes to ``stats_dirty`` in the writer's
own transaction; ``refresh`` (called by every read of the statistics, before its snapshot)
drains it under an advisory lock and recomputes exactly those keys with the queries below,
which read the base tables as the statistics always did. A figure is therefore what a
computation over the base tables gives, as of the refresh: never an increment that could
drift.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from server.accounting.period import CUSTOM_PLANS
from server.accounting.sales import LINES
from server.platform.db import connection

BLOCK = 1024
QUARTER = 900
REFRESH_S = 30.0
"""Every server process also refreshes this often in the background, so the changes of a
busy day never pile up in ``stats_dirty`` for the next reader (or for none)."""
LOCK = 7_482_004  # advisory lock id (the others: 7_482_001…003)
"""Advisory lock of the refresh: one at a time, so a slower one never writes older figures
over newer ones."""

# A ticket's figures: sold (active, not a reservation), entered, sold but not entered, and
# its revenue as the sales statement counts it: its journal lines (sales less refunds), or,
# sold outside any register, its price, less its price again once refunded.
TICKET_FIGURES = """
money AS (
    SELECT l.ticket_id AS id, l.gross_cents
      FROM journal_lines l JOIN journal j ON j.id = l.journal_id
     WHERE j.kind IN ('sale', 'refund') AND l.ticket_id IN (SELECT id FROM tk)
    UNION ALL
    SELECT id, price_cents FROM tk WHERE order_kind IN ('sale', 'cart') AND NOT journalled
    UNION ALL
    SELECT tk.id, -tk.price_cents
      FROM tk JOIN revocations v ON v.ticket_id = tk.id AND v.reason = 'refunded'
     WHERE tk.status = 'refunded' AND tk.order_kind IN ('sale', 'cart') AND NOT tk.journalled),
revenue AS (SELECT id, sum(gross_cents)::bigint AS cents FROM money GROUP BY id)
"""

BLOCK_FIGURES = f"""
WITH tk AS MATERIALIZED (
    SELECT t.id, t.session_id, t.tariff_id, t.status, t.price_cents, o.kind AS order_kind,
           EXISTS (SELECT 1 FROM journal j WHERE j.order_id = o.id) AS journalled,
           EXISTS (SELECT 1 FROM entries e
                    WHERE e.session_id = t.session_id AND e.ticket_id = t.id) AS entered
      FROM unnest($1::bigint[]) b (block)
      JOIN tickets t ON t.id >= b.block * {BLOCK} AND t.id < (b.block + 1) * {BLOCK}
      JOIN orders o ON o.id = t.order_id),
{TICKET_FIGURES}
SELECT tk.id / {BLOCK} AS block, tk.session_id, tk.tariff_id,
       count(*) FILTER (WHERE tk.status = 'active' AND tk.order_kind <> 'reservation')
           AS sold,
       count(*) FILTER (WHERE tk.entered) AS entered,
       count(*) FILTER (WHERE tk.status = 'active' AND tk.order_kind <> 'reservation'
                          AND NOT tk.entered) AS unentered,
       coalesce(sum(r.cents), 0)::bigint AS revenue_cents
  FROM tk LEFT JOIN revenue r ON r.id = tk.id
 GROUP BY 1, 2, 3
"""
"""The figures of the blocks $1 (``stats_ticket_blocks``' rows), from the base tables."""
_BLOCKS = f"""
INSERT INTO stats_ticket_blocks
       (block, session_id, tariff_id, sold, entered, unentered, revenue_cents)
{BLOCK_FIGURES}"""

QUARTER_FIGURES = f"""
SELECT stats_quarter(paid_at) AS quarter, channel, currency, count(*) AS lines,
       coalesce(sum(quantity) FILTER (WHERE ticket_id IS NOT NULL), 0)::bigint AS tickets,
       sum(gross_cents)::bigint AS gross_cents
  FROM ({LINES}) l GROUP BY 1, 2, 3
"""
"""The sales statement's lines paid in [$1, $2) per quarter (``stats_sales_quarters``)."""
_QUARTERS = f"""
INSERT INTO stats_sales_quarters (quarter, channel, currency, lines, tickets, gross_cents)
{QUARTER_FIGURES}"""


def ranges(keys: list[int]) -> list[tuple[int, int]]:
    """Sorted keys as runs of consecutive ones: ``[1, 2, 3, 7]`` → ``[(1, 3), (7, 7)]``."""
    runs: list[tuple[int, int]] = []
    for k in sorted(set(keys)):
        if runs and runs[-1][1] == k - 1:
            runs[-1] = (runs[-1][0], k)
        else:
            runs.append((k, k))
    return runs


def quarter_start(q: int) -> datetime:
    return datetime.fromtimestamp(q * QUARTER, UTC)


async def refresh(conn: asyncpg.Connection) -> int:
    """Recompute the blocks and quarters that changed; how many keys were recomputed."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK)
        await conn.execute(CUSTOM_PLANS)
        dirty = await conn.fetch("DELETE FROM stats_dirty RETURNING kind, key")
        blocks = sorted({r["key"] for r in dirty if r["kind"] == "b"})
        quarters = sorted({r["key"] for r in dirty if r["kind"] == "q"})
        if blocks:
            await conn.execute(
                "DELETE FROM stats_ticket_blocks WHERE block = ANY($1::bigint[])", blocks
            )
            await conn.execute(_BLOCKS, blocks)
        for lo, hi in ranges(quarters):
            await conn.execute(
                "DELETE FROM stats_sales_quarters WHERE quarter >= $1 AND quarter <= $2", lo, hi
            )
            await conn.execute(_QUARTERS, quarter_start(lo), quarter_start(hi + 1), *([None] * 6))
    return len(blocks) + len(quarters)


async def refresh_step(pool: asyncpg.Pool) -> None:
    """The background loop's step (``server.platform.loops.every``)."""
    async with connection(pool) as conn:
        await refresh(conn)
