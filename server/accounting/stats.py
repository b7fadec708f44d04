"""The organiser's statistics over a period, computed in Postgres in one read-only snapshot.

Two kinds of figures:

- **per session**, for the sessions that *start* in the period: places sold, entries and
  ticket revenue, summed by the weekday and the hour of the session's start (in ``tz``), by
  tariff, by room (occupancy), the top sessions, and the no-shows of the sessions that have
  started;
- **per sale**, for the sales *paid* in the period: the sales statement's lines
  (``sales.LINES``) per channel (desk, bar, e-shop, off-register) and per hour or day.

A ticket's revenue is what the sales statement counts for it, whenever it was paid: its
journal lines (sales less refunds, as journalled), or for a ticket sold outside any
register its price, less its price again once refunded. Amounts are gross (tax included),
in cents, per currency.

The figures of the tickets and the lines per quarter of an hour are read from rollups
(``rollups.py``), brought up to date first by the same queries over the base tables for
what changed since the last read; only the parts of quarters at the period's ends are read
from the statement's lines each time.
"""

from __future__ import annotations

import json
import math
from datetime import timedelta
from typing import Any

import asyncpg

from server.accounting.period import CUSTOM_PLANS, Period
from server.accounting.rollups import QUARTER, quarter_start, refresh
from server.accounting.sales import LINES

TOP = 10
NO_SHOW_SESSIONS = 20
HOURLY_UP_TO = timedelta(days=3)
"""Sales over time are per hour over a period of at most this, else per day."""

# $1 start, $2 end, $3 time zone.
_FACTS = """
WITH s AS MATERIALIZED (
    SELECT s.id, s.room_id, s.event_name, s.starts_at, s.capacity,
           s.starts_at <= now() AS started, s.starts_at AT TIME ZONE $3 AS local_start,
           (SELECT min(tf.currency) FROM tariffs tf WHERE tf.session_id = s.id)::text
               AS currency
      FROM sessions s WHERE s.starts_at >= $1 AND s.starts_at < $2),
by_tariff AS MATERIALIZED (
    SELECT b.session_id, b.tariff_id, sum(b.sold)::bigint AS sold,
           sum(b.entered)::bigint AS entered, sum(b.unentered)::bigint AS unentered,
           sum(b.revenue_cents)::bigint AS revenue_cents
      FROM stats_ticket_blocks b WHERE b.session_id IN (SELECT id FROM s) GROUP BY 1, 2),
ps AS MATERIALIZED (
    SELECT s.*, rm.name AS room, v.name AS venue,
           coalesce(f.sold, 0)::bigint AS sold, coalesce(f.entered, 0)::bigint AS entered,
           CASE WHEN s.started THEN coalesce(f.unentered, 0) ELSE 0 END::bigint AS no_shows,
           coalesce(f.revenue_cents, 0)::bigint AS revenue_cents
      FROM s JOIN rooms rm ON rm.id = s.room_id JOIN venues v ON v.id = rm.venue_id
      LEFT JOIN (SELECT session_id, sum(sold) AS sold, sum(entered) AS entered,
                        sum(unentered) AS unentered, sum(revenue_cents) AS revenue_cents
                   FROM by_tariff GROUP BY 1) f ON f.session_id = s.id)
"""
_SUMS = """count(*) AS sessions, sum(capacity)::bigint AS capacity, sum(sold)::bigint AS sold,
       sum(entered)::bigint AS entered, sum(revenue_cents)::bigint AS revenue_cents"""
_RATIOS = """round(100.0 * sum(sold) / nullif(sum(capacity), 0), 1)::float8 AS occupancy_pct,
       round(100.0 * sum(entered) / nullif(sum(sold), 0), 1)::float8 AS attendance_pct"""
_SESSIONS = """SELECT id AS session_id, event_name AS event, starts_at, room_id, room, venue,
       currency, capacity, sold, entered, no_shows, revenue_cents FROM ps"""


def _section(select: str, order: str) -> str:
    return f"(SELECT coalesce(json_agg(x ORDER BY {order}), '[]') FROM ({select}) x)"


_DOCUMENT = (
    _FACTS
    + "SELECT json_build_object("
    + ", ".join(
        f"'{name}', {sql}"
        for name, sql in (
            (
                "totals",
                _section(
                    f"SELECT currency, {_SUMS}, count(*) FILTER (WHERE started) AS started,"
                    f" sum(no_shows)::bigint AS no_shows, {_RATIOS}"
                    " FROM ps GROUP BY currency",
                    "x.currency",
                ),
            ),
            (
                "by_weekday",
                _section(
                    "SELECT extract(isodow FROM local_start)::int AS weekday, currency,"
                    f" {_SUMS}, {_RATIOS} FROM ps GROUP BY 1, 2",
                    "x.weekday, x.currency",
                ),
            ),
            (
                "by_hour",
                _section(
                    "SELECT extract(hour FROM local_start)::int AS hour, currency,"
                    f" {_SUMS}, {_RATIOS} FROM ps GROUP BY 1, 2",
                    "x.hour, x.currency",
                ),
            ),
            (
                "by_tariff",
                _section(
                    "SELECT tf.name AS tariff, tf.currency::text AS currency,"
                    " count(DISTINCT f.session_id) AS sessions, sum(f.sold)::bigint AS sold,"
                    " sum(f.entered)::bigint AS entered,"
                    " sum(f.revenue_cents)::bigint AS revenue_cents"
                    " FROM by_tariff f JOIN tariffs tf ON tf.id = f.tariff_id GROUP BY 1, 2",
                    "x.revenue_cents DESC, x.sold DESC, x.tariff, x.currency",
                ),
            ),
            (
                "by_room",
                _section(
                    "SELECT room_id, room, venue, currency, "
                    f"{_SUMS}, {_RATIOS} FROM ps GROUP BY 1, 2, 3, 4",
                    "x.venue, x.room, x.room_id, x.currency",
                ),
            ),
            (
                "top_by_entries",
                _section(
                    f"{_SESSIONS} ORDER BY entered DESC, starts_at, id LIMIT {TOP}",
                    "x.entered DESC, x.starts_at, x.session_id",
                ),
            ),
            (
                "top_by_revenue",
                _section(
                    f"{_SESSIONS} ORDER BY revenue_cents DESC, starts_at, id LIMIT {TOP}",
                    "x.revenue_cents DESC, x.starts_at, x.session_id",
                ),
            ),
            (
                "no_shows",
                _section(
                    f"{_SESSIONS} WHERE started AND sold > 0"
                    f" ORDER BY no_shows DESC, starts_at, id LIMIT {NO_SHOW_SESSIONS}",
                    "x.no_shows DESC, x.starts_at, x.session_id",
                ),
            ),
        )
    )
    + ")"
)

# $1 'hour' or 'day', $2 time zone, $3 and $4 the first and the last quarter.
_OVER_TIME = """
SELECT to_char(date_trunc($1, to_timestamp(quarter * 900) AT TIME ZONE $2),
               'YYYY-MM-DD"T"HH24:MI') AS at,
       channel, currency, sum(lines)::bigint AS lines, sum(tickets)::bigint AS tickets,
       sum(gross_cents)::bigint AS gross_cents,
       bool_and(extract(epoch FROM (to_timestamp(quarter * 900) AT TIME ZONE $2)
                                   - (to_timestamp(quarter * 900) AT TIME ZONE 'UTC'))::int
                % 900 = 0) AS aligned
  FROM stats_sales_quarters WHERE quarter >= $3 AND quarter <= $4 GROUP BY 1, 2, 3
"""
# $1…$8 as Filters.args, $9 'hour' or 'day', $10 time zone.
_LIVE_OVER_TIME = f"""
SELECT to_char(date_trunc($9, paid_at AT TIME ZONE $10), 'YYYY-MM-DD"T"HH24:MI') AS at,
       channel, currency, count(*) AS lines,
       coalesce(sum(quantity) FILTER (WHERE ticket_id IS NOT NULL), 0)::bigint AS tickets,
       sum(gross_cents)::bigint AS gross_cents, true AS aligned
  FROM ({LINES}) l GROUP BY 1, 2, 3
"""


async def _over_time(conn: asyncpg.Connection, p: Period) -> list[dict[str, Any]]:
    """Sales per channel and hour or day: whole quarters of hours from the rollup, the
    parts of quarters at the period's ends from the statement's lines. A zone whose offset
    is not whole quarters of an hour (before 1980 some were) is computed from the lines."""
    u = unit(p)
    first = math.ceil(p.start.timestamp() / QUARTER)
    last = math.floor(p.end.timestamp() / QUARTER) - 1
    rows: list[Any] = []
    if first <= last:
        rows = await conn.fetch(_OVER_TIME, u, p.tz, first, last)
        edges = [(p.start, quarter_start(first)), (quarter_start(last + 1), p.end)]
    else:
        edges = [(p.start, p.end)]
    if not all(r["aligned"] for r in rows):
        rows, edges = [], [(p.start, p.end)]
    for start, end in edges:
        if start < end:
            rows += await conn.fetch(_LIVE_OVER_TIME, start, end, *[None] * 6, u, p.tz)
    sums: dict[tuple[str, str, str], list[int]] = {}
    for r in rows:
        got = sums.setdefault((r["at"], r["channel"], r["currency"]), [0, 0, 0])
        for i, k in enumerate(("lines", "tickets", "gross_cents")):
            got[i] += r[k]
    return [
        {"at": at, "channel": ch, "currency": cur, "lines": n, "tickets": t, "gross_cents": g}
        for (at, ch, cur), (n, t, g) in sorted(sums.items())
    ]


def unit(p: Period) -> str:
    return "hour" if p.end - p.start <= HOURLY_UP_TO else "day"


async def statistics(conn: asyncpg.Connection, p: Period) -> dict[str, Any]:
    """Every section of the statistics of a period: the rollups brought up to date, then
    read in one snapshot."""
    await refresh(conn)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        await conn.execute(CUSTOM_PLANS)
        document = json.loads(await conn.fetchval(_DOCUMENT, p.start, p.end, p.tz))
        over_time = await _over_time(conn, p)
    return {
        "from": p.start.isoformat(),
        "to": p.end.isoformat(),
        "tz": p.tz,
        **document,
        "sales_over_time": {"unit": unit(p), "rows": over_time},
    }
