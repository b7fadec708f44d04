"""The statistics' rollups (migration 0026): the figures of the tickets per block of 1,024
ticket ids, session and tariff (``stats_ticket_blocks``), and the sales statement's lines
per quarter of an hour, channel and currency (``stats_sales_quarters``).

``refresh`` (called by every read of the statistics, before its snapshot, and by every
process in the background) finds what changed, under an advisory lock, and recomputes
exactly those blocks and quarters with the queries below, which read the base tables as the
statistics always did. What changed is found two ways (migration 0032):

- new rows of ``tickets``, ``journal`` (with its lines) and ``order_products``, scanned
  above each table's watermark of ids (``stats_watermarks``; nothing is written on their
  insert path);
- rows changed after their insert (a ticket's or an order's update, a revocation, an entry
  made or undone): triggers append the keys to ``stats_dirty`` in the writer's transaction.

A figure is therefore what a computation over the base tables gives, as of the refresh:
never an increment that could drift. Why the watermark never skips a row committed late:
the migration's header and docs/accounting.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum

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


class Scan(Enum):
    """How ``refresh`` finds new rows. Only ``SAFE`` is used by the server; the others are
    the controls of the tests (``tests/accounting/test_stats_watermarks.py``)."""

    SAFE = "safe"
    """Above ``done``, which becomes a candidate only once every transaction that could
    hold an id up to it has ended."""
    NAIVE = "naive"
    """Above the highest id seen, as soon as it is seen: skips a row committed late."""
    OFF = "off"
    """Not at all: only the triggers' marks."""


_SETTLED = """
SELECT source, done, NOT EXISTS (
           SELECT 1 FROM pg_locks l
            WHERE l.locktype = 'virtualxid' AND l.granted AND l.virtualxid = ANY(w.waiting))
           AS settled
  FROM stats_watermarks w
"""
"""Each table's watermark, and whether every transaction of its ``waiting`` has ended."""

# The keys of the rows above the watermarks ($1 tickets, $2 journal, $3 order_products),
# as the insert triggers of 0026 marked them, with the marks of the triggers drained: a new
# ticket's block and its order's quarter; a journal entry's quarter and its lines' tickets'
# blocks, and for an order's entry, everything of that order (its e-shop lines go); a
# cart's product, its order's quarter.
_DIRTY = """
WITH drained AS (DELETE FROM stats_dirty RETURNING kind, key),
t AS MATERIALIZED (SELECT id, order_id FROM tickets WHERE id > $1),
j AS MATERIALIZED (SELECT id, order_id, created_at FROM journal WHERE id > $2),
jo AS MATERIALIZED (SELECT DISTINCT order_id AS id FROM j WHERE order_id IS NOT NULL),
jt AS MATERIALIZED (SELECT t.id FROM tickets t WHERE t.order_id IN (SELECT id FROM jo))
SELECT kind, key FROM drained
UNION SELECT 'b', id / 1024 FROM t
UNION SELECT 'q', stats_quarter(o.created_at)
        FROM orders o WHERE o.id IN (SELECT order_id FROM t)
UNION SELECT 'q', stats_quarter(j.created_at)
        FROM j WHERE EXISTS (SELECT 1 FROM journal_lines l WHERE l.journal_id = j.id)
UNION SELECT 'b', l.ticket_id / 1024
        FROM journal_lines l WHERE l.journal_id IN (SELECT id FROM j) AND l.ticket_id IS NOT NULL
UNION SELECT 'q', stats_quarter(o.created_at) FROM orders o WHERE o.id IN (SELECT id FROM jo)
UNION SELECT 'b', id / 1024 FROM jt
UNION SELECT 'q', stats_quarter(v.revoked_at)
        FROM revocations v WHERE v.ticket_id IN (SELECT id FROM jt)
UNION SELECT 'q', stats_quarter(o.created_at)
        FROM order_products p JOIN orders o ON o.id = p.order_id WHERE p.id > $3
"""
_SOURCES = ("tickets", "journal", "order_products")

# After the scan, for the settled tables: done becomes the candidate, then a new candidate
# is read from the sequence, and only then the transactions running (the refresh's own
# apart: what it wrote, it has just scanned).
_ADVANCE = """
UPDATE stats_watermarks SET done = candidate, candidate = stats_last_id(source::regclass)
 WHERE source = ANY($1::text[])
"""
_WAITING = """
UPDATE stats_watermarks SET waiting = ARRAY(
    SELECT l.virtualxid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'virtualxid' AND l.granted AND l.pid <> pg_backend_pid()
       AND a.backend_type = 'client backend')
 WHERE source = ANY($1::text[])
"""
"""Only client backends insert rows: an autovacuum worker or a WAL sender, which may run
for minutes, does not hold the watermark back."""
_NAIVE = """
UPDATE stats_watermarks w SET done = m.id, candidate = greatest(w.candidate, m.id)
  FROM (SELECT 'tickets' AS source, max(id) AS id FROM tickets
        UNION ALL SELECT 'journal', max(id) FROM journal
        UNION ALL SELECT 'order_products', max(id) FROM order_products) m
 WHERE w.source = m.source AND m.id > w.done
"""


async def _changed(conn: asyncpg.Connection, scan: Scan) -> list[asyncpg.Record]:
    """The keys to recompute: the marks drained, and the rows above the watermarks."""
    marks = await conn.fetch(_SETTLED)
    done = {r["source"]: r["done"] for r in marks}
    if scan is Scan.OFF:
        done = dict.fromkeys(_SOURCES, 2**63 - 1)
    dirty: list[asyncpg.Record] = await conn.fetch(_DIRTY, *(done[s] for s in _SOURCES))
    if scan is Scan.NAIVE:
        await conn.execute(_NAIVE)
    elif scan is Scan.SAFE:
        settled = [r["source"] for r in marks if r["settled"]]
        if settled:
            await conn.execute(_ADVANCE, settled)
            await conn.execute(_WAITING, settled)
    return dirty


async def refresh(conn: asyncpg.Connection, scan: Scan = Scan.SAFE) -> int:
    """Recompute the blocks and quarters that changed; how many keys were recomputed.
    Outside any transaction, or in a read-committed one: the scan must get a snapshot
    taken after its watermarks were found settled."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK)
        await conn.execute(CUSTOM_PLANS)
        dirty = await _changed(conn, scan)
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
