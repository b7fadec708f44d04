"""Monthly partitions of the tables partitioned by time (the audit log, migration 0025; the
door's scans, migration 0030): make the coming months' partitions ahead of time, and detach
the months of a past season.

Every server process runs :func:`create_ahead` at start and then hourly; an advisory lock
makes one process at a time do it, and making a partition that exists is a no-op, so any
number of processes (and ``server.cli partitions create-ahead``) may run it together.
A detached month is an ordinary table again (``audit_log_p202401``, ``scans_p202401``):
dump it, archive it, drop it; the current months and every statement on the parent are
untouched. A detached month of scans keeps its nonces in ``scan_nonces`` (a retry of one of
its scans is still turned away), and the entries and conflicts pointing at its scans keep
their foreign keys, which point at ``scan_nonces``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg

from server.platform.audit import SYSTEM, record
from server.platform.db import connection

log = logging.getLogger(__name__)

PARTITIONS_LOCK = 7_482_002  # advisory lock id: one partition maker at a time
MONTHS_AHEAD = 3
CREATE_AHEAD_INTERVAL_S = 3600


@dataclass(frozen=True, slots=True)
class Partitioned:
    table: str
    key: str  # the timestamptz column partitioned by month
    guard: str | None  # the append-only trigger function, put on each partition's TRUNCATE


PARTITIONED = (
    Partitioned("audit_log", "at", "audit_log_append_only"),
    # by the server's clock; the nonces stay in scan_nonces (migration 0030)
    Partitioned("scans", "received_at", None),
)


def months(start: date, count: int) -> list[date]:
    """The first days of ``count`` months from ``start``'s month."""
    first = start.replace(day=1)
    return [
        first.replace(
            year=first.year + (first.month - 1 + n) // 12, month=(first.month - 1 + n) % 12 + 1
        )
        for n in range(count)
    ]


async def create_ahead(
    conn: asyncpg.Connection, ahead: int = MONTHS_AHEAD, today: date | None = None
) -> list[str]:
    """Makes the partitions of this month and the next ``ahead`` months where missing;
    returns the names it made."""
    start = today or datetime.now(UTC).date()
    made: list[str] = []
    async with conn.transaction():
        await conn.execute("SET LOCAL lock_timeout = '5s'")
        await conn.execute("SELECT pg_advisory_xact_lock($1)", PARTITIONS_LOCK)
        for spec in PARTITIONED:
            for month in months(start, ahead + 1):
                at = datetime(month.year, month.month, 1, tzinfo=UTC)
                if await conn.fetchval(
                    "SELECT guichet_month_partition($1, $2, $3, $4)",
                    spec.table,
                    spec.key,
                    at,
                    spec.guard,
                ):
                    made.append(f"{spec.table}_p{month:%Y%m}")
    if made:
        log.info("partitions made: %s", ", ".join(made))
    return made


async def month_partitions(conn: asyncpg.Connection, table: str) -> dict[str, date]:
    """The attached month partitions of ``table``: name → first day of its month."""
    rows = await conn.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = $1::regclass",
        table,
    )
    found: dict[str, date] = {}
    prefix = table + "_p"
    for row in rows:
        name: str = row["relname"]
        suffix = name.removeprefix(prefix)
        if name.startswith(prefix) and len(suffix) == 6 and suffix.isdigit():
            found[name] = date(int(suffix[:4]), int(suffix[4:]), 1)
    return found


async def detach_before(conn: asyncpg.Connection, before: date) -> list[str]:
    """Detaches every month partition that ends on or before ``before`` (so only whole months
    go); returns their names, oldest first. The detach is written to the audit log."""
    detached: list[str] = []
    async with conn.transaction():
        await conn.execute("SET LOCAL lock_timeout = '5s'")
        await conn.execute("SELECT pg_advisory_xact_lock($1)", PARTITIONS_LOCK)
        for spec in PARTITIONED:
            found = await month_partitions(conn, spec.table)
            for name, month in sorted(found.items(), key=lambda item: item[1]):
                if months(month, 2)[1] <= before:
                    await conn.execute(f'ALTER TABLE "{spec.table}" DETACH PARTITION "{name}"')
                    detached.append(name)
        if detached:
            await record(conn, SYSTEM, "partitions.detach", f"before:{before}", tables=detached)
    return detached


async def create_ahead_step(pool: asyncpg.Pool) -> None:
    """The background loop's step (``server.platform.loops.every``)."""
    async with connection(pool) as conn:
        await create_ahead(conn)
