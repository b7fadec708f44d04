"""The audit log partitioned by month (migration 0025): a populated database migrates with
every row kept, future months are made ahead, and an old season detaches cleanly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import asyncpg
import pytest

from server.platform.audit import SYSTEM, record
from server.platform.db import migrate
from server.platform.partitions import create_ahead, detach_before
from tests import support
from tests.platform.test_migrations import database_before


@pytest.fixture
async def scratch(services: None) -> AsyncIterator[asyncpg.Connection]:
    """A database of its own, migrated up to the state before 0025."""
    async with database_before(25) as conn:
        yield conn


async def partition_of(conn: asyncpg.Connection, audit_id: int) -> str:
    name: str = await conn.fetchval(
        "SELECT tableoid::regclass::text FROM audit_log WHERE id = $1", audit_id
    )
    return name


async def test_a_populated_audit_log_migrates_with_every_row(scratch: asyncpg.Connection) -> None:
    conn = scratch
    moments = [
        "2024-01-15T10:00:00+00:00",
        "2024-01-31T23:30:00+00:00",
        "2024-02-01T00:00:00+00:00",
    ]
    for n, at in enumerate(moments):
        await conn.execute(
            "INSERT INTO audit_log (at, actor_name, action, subject) VALUES ($1, 'old', $2, $3)",
            datetime.fromisoformat(at),
            "test.before",
            f"row:{n}",
        )
    await record(conn, SYSTEM, "test.now", "row:now")
    before = await conn.fetch("SELECT * FROM audit_log ORDER BY id")

    applied = await migrate(conn)  # 0025 and every later migration
    assert applied[0] == "0025_partitions.sql"

    assert await conn.fetch("SELECT * FROM audit_log ORDER BY id") == before
    ids = [r["id"] for r in before]
    assert [await partition_of(conn, i) for i in ids[:3]] == [
        "audit_log_p202401",
        "audit_log_p202401",
        "audit_log_p202402",
    ]
    assert await partition_of(conn, ids[3]) == f"audit_log_p{datetime.now(UTC):%Y%m}"
    # New rows number on from the old ones and land in this month's partition.
    await record(conn, SYSTEM, "test.after", "row:after")
    after = await conn.fetchrow(
        "SELECT id, tableoid::regclass::text AS part FROM audit_log WHERE action = 'test.after'"
    )
    assert after["id"] > max(ids) and after["part"] == f"audit_log_p{datetime.now(UTC):%Y%m}"
    # Still append-only, on the parent and on each partition.
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute("UPDATE audit_log SET subject = 'x' WHERE id = $1", ids[0])
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute("DELETE FROM audit_log_p202401")
    for table in ("audit_log", "audit_log_p202401", "audit_log_default"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(f"TRUNCATE {table}")


async def test_a_future_month_made_ahead_takes_its_rows(services: None) -> None:
    conn = await asyncpg.connect(support.testing_database_url())
    try:
        made = await create_ahead(conn, 1, today=date(2031, 5, 20))
        assert made == [
            f"{table}_p{month}"
            for table in ("audit_log", "scans", "journal_lines", "journal_payments", "journal")
            for month in ("203105", "203106")
        ]
        assert await create_ahead(conn, 1, today=date(2031, 5, 20)) == []  # idempotent
        row_id = await conn.fetchval(
            "INSERT INTO audit_log (at, action) VALUES ('2031-06-30T23:59:59+00', 'test.future')"
            " RETURNING id"
        )
        assert await partition_of(conn, row_id) == "audit_log_p203106"
        far = await conn.fetchval(
            "INSERT INTO audit_log (at, action) VALUES ('2039-01-01T00:00:00+00', 'test.far')"
            " RETURNING id"
        )
        assert await partition_of(conn, far) == "audit_log_default"  # never refused
        for received_at, part in (
            (datetime(2031, 6, 30, 23, 59, 59, tzinfo=UTC), "scans_p203106"),
            (datetime(2039, 1, 1, tzinfo=UTC), "scans_default"),
        ):
            where = await conn.fetchval(
                "INSERT INTO scans (device, door, nonce, result, scanned_at, received_at)"
                " VALUES ('test/future', 'd', $1, 'valid', $2, $2)"
                " RETURNING tableoid::regclass::text",
                "future-" + part,
                received_at,
            )
            assert where == part
    finally:
        await conn.close()


async def test_detaching_an_old_season_keeps_the_current_months(services: None) -> None:
    conn = await asyncpg.connect(support.testing_database_url())
    try:
        await create_ahead(conn, 1, today=date(2020, 1, 1))
        old = [
            await conn.fetchval(
                "INSERT INTO audit_log (at, action, subject) VALUES ($1, 'test.season', '')"
                " RETURNING id",
                datetime(2020, month, 15, tzinfo=UTC),
            )
            for month in (1, 2)
        ]
        await record(conn, SYSTEM, "test.current", "row:current")
        current = await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE at > now() - '1 day'::interval"
        )

        # Only whole months ending on or before the day go: February 2020 stays.
        assert await detach_before(conn, date(2020, 2, 15)) == [
            "audit_log_p202001",
            "scans_p202001",
            "journal_lines_p202001",  # the journal's (empty) month goes with it
            "journal_payments_p202001",
            "journal_p202001",
        ]
        assert await conn.fetchval("SELECT count(*) FROM audit_log_p202001") == 1  # kept apart
        assert [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM audit_log WHERE action = 'test.season' ORDER BY id"
            )
        ] == old[1:]
        # The current months answer as before; new rows go in; the detach is audited.
        await record(conn, SYSTEM, "test.current", "row:after-detach")
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM audit_log WHERE at > now() - '1 day'::interval"
            )
            == current + 2
        )
        details = await conn.fetchval(
            "SELECT details FROM audit_log WHERE action = 'partitions.detach'"
            " AND subject = 'before:2020-02-15'"
        )
        assert '"audit_log_p202001"' in details and '"scans_p202001"' in details
        assert await detach_before(conn, date(2020, 2, 15)) == []
        # What was detached is an ordinary table to archive and drop.
        await conn.execute("DROP TABLE audit_log_p202001, scans_p202001")
        await conn.execute(
            "DROP TABLE journal_lines_p202001, journal_payments_p202001, journal_p202001"
        )
    finally:
        await conn.close()
