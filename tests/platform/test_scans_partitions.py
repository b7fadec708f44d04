"""The door's scans partitioned by month of ``received_at`` (migration 0030): a database
holding scans, entries and a door conflict migrates with every row and key kept; a month of
scans detaches while the entries pointing at its scans stay, and a retry of one of its scans
is still turned away."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import asyncpg
import pytest

from server.door.nonces import REPLAY
from server.door.passage import INSERT_SCAN
from server.platform.db import migrate
from server.platform.partitions import create_ahead, detach_before
from tests import support
from tests.door.test_door_api import buy_tickets, code_of, door_session
from tests.platform.test_migrations import database_before
from tests.support import Api

_SCAN = (
    "INSERT INTO scans (ticket_id, session_id, device, door, nonce, result, reason,"
    " scanned_at, received_at, offline) VALUES ($1, $2, $3, 'main', $4, $5, $6, $7, $7, $8)"
    " RETURNING id"
)


@pytest.fixture
async def before_0030(services: None) -> AsyncIterator[asyncpg.Connection]:
    async with database_before(30) as conn:
        yield conn


async def test_a_database_with_scans_entries_and_a_conflict_migrates_whole(
    before_0030: asyncpg.Connection,
) -> None:
    conn = before_0030
    venue = await conn.fetchval("INSERT INTO venues (name) VALUES ('v') RETURNING id")
    room = await conn.fetchval(
        "INSERT INTO rooms (venue_id, name) VALUES ($1, 'r') RETURNING id", venue
    )
    session = await conn.fetchval(
        "INSERT INTO sessions (room_id, event_name, starts_at, ends_at, seated, capacity)"
        " VALUES ($1, 'e', '2024-01-15T19:00:00+00', '2024-01-15T22:00:00+00', false, 100)"
        " RETURNING id",
        room,
    )
    at = [
        datetime(2024, 1, 15, 19, 5, tzinfo=UTC),
        datetime(2024, 2, 3, 10, 0, tzinfo=UTC),
        datetime.now(UTC),
    ]
    kept = await conn.fetchval(
        _SCAN, 7, session, "a/tab", "nonce-0001", "valid", None, at[0], False
    )
    other = await conn.fetchval(
        _SCAN, 7, session, "b/tab", "nonce-0001", "valid", None, at[1], True
    )
    refused = await conn.fetchval(
        _SCAN, 7, session, "a/tab", "nonce-0003", "refused", "already_entered", at[2], False
    )
    await conn.execute(
        "INSERT INTO entries (session_id, ticket_id, scan_id, device, door, entered_at)"
        " VALUES ($1, 7, $2, 'a/tab', 'main', $3)",
        session,
        kept,
        at[0],
    )
    await conn.execute(
        "INSERT INTO door_conflicts (session_id, ticket_id, kept_scan_id, other_scan_id)"
        " VALUES ($1, 7, $2, $3)",
        session,
        kept,
        other,
    )
    tables = ("scans", "entries", "door_conflicts")
    before = {t: await conn.fetch(f"SELECT * FROM {t} ORDER BY 1, 2") for t in tables}

    applied = await migrate(conn)
    assert applied[0] == "0030_scans_partitions.sql"

    assert {t: await conn.fetch(f"SELECT * FROM {t} ORDER BY 1, 2") for t in tables} == before
    parts = await conn.fetch("SELECT id, tableoid::regclass::text AS part FROM scans ORDER BY id")
    assert [(r["id"], r["part"]) for r in parts] == [
        (kept, "scans_p202401"),
        (other, "scans_p202402"),
        (refused, f"scans_p{at[2]:%Y%m}"),
    ]
    nonces = await conn.fetch("SELECT device, nonce, scan_id, received_at FROM scan_nonces")
    assert sorted(tuple(r) for r in nonces) == sorted(
        (r["device"], r["nonce"], r["id"], r["received_at"]) for r in before["scans"]
    )
    assert await conn.fetchval("SELECT pg_get_serial_sequence('scans', 'id')") == (
        "public.scans_id_seq"
    )
    # A retry of an old scan is answered by it; a new scan numbers on, once.
    assert tuple(await conn.fetchval(REPLAY, "a/tab", "nonce-0001"))[:3] == (kept, "valid", None)
    args = ("x/tab", "main", "nonce-0004", "valid", None, at[2], "entry", False, None, None)
    fresh = await conn.fetchval("SELECT nextval('scans_id_seq')")
    assert tuple(await conn.fetchrow(INSERT_SCAN, fresh, 8, session, *args)) == (fresh, session)
    assert await conn.fetchrow(INSERT_SCAN, fresh + 1, 8, session, *args) is None  # a retry
    assert fresh > refused
    # The foreign keys hold: an entry or a conflict needs a stored scan.
    for statement in (
        "INSERT INTO entries (session_id, ticket_id, scan_id, device, door, entered_at)"
        " VALUES ($1, 9, 999999, 'a/tab', 'main', now())",
        "INSERT INTO door_conflicts (session_id, ticket_id, kept_scan_id, other_scan_id)"
        " VALUES ($1, 9, 999999, 999998)",
    ):
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            async with conn.transaction():
                await conn.execute(statement, session)


async def test_a_detached_month_keeps_its_entries_and_turns_its_retries_away(
    admin: Api, buyer: Api
) -> None:
    """An entry of March 2020 whose scan is archived: the entry stands (the ticket is in),
    a retry of that scan over HTTP is answered as a replay and stores nothing, and the
    detached month is an ordinary table to drop."""
    session = await door_session(admin)
    _, (ticket,) = await buy_tickets(buyer, session, 1)
    code = await code_of(admin, ticket)
    device, nonce = "admin/archive-tab", "archived-nonce-0001"
    at = datetime(2020, 3, 10, 19, 0, tzinfo=UTC)
    conn = await asyncpg.connect(support.testing_database_url())
    try:
        await create_ahead(conn, 0, today=date(2020, 3, 1))
        async with conn.transaction():
            old, other = [
                r["id"]
                for r in await conn.fetch(
                    "SELECT nextval('scans_id_seq') AS id FROM generate_series(1, 2)"
                )
            ]
            for scan_id, scanner in ((old, device), (other, "admin/other-tab")):
                await conn.execute(
                    "INSERT INTO scan_nonces (device, nonce, scan_id, received_at)"
                    " VALUES ($1, $2, $3, $4)",
                    scanner,
                    nonce,
                    scan_id,
                    at,
                )
                await conn.execute(
                    "INSERT INTO scans (id, ticket_id, session_id, device, door, nonce, result,"
                    " scanned_at, received_at, offline) VALUES ($1, $2, $3, $4, 'main', $5,"
                    " 'valid', $6, $6, true)",
                    scan_id,
                    ticket,
                    session["id"],
                    scanner,
                    nonce,
                    at,
                )
            await conn.execute(
                "INSERT INTO entries (session_id, ticket_id, scan_id, device, door, entered_at)"
                " VALUES ($1, $2, $3, $4, 'main', $5)",
                session["id"],
                ticket,
                old,
                device,
                at,
            )
            await conn.execute(
                "INSERT INTO door_conflicts (session_id, ticket_id, kept_scan_id, other_scan_id)"
                " VALUES ($1, $2, $3, $4)",
                session["id"],
                ticket,
                old,
                other,
            )

        detached = await detach_before(conn, date(2020, 4, 1))
        assert "scans_p202003" in detached and "audit_log_p202003" in detached
        assert (
            await conn.fetchval("SELECT count(*) FROM scans WHERE id = ANY($1)", [old, other]) == 0
        )
        assert await conn.fetchval("SELECT count(*) FROM scans_p202003") == 2  # kept apart
        assert (
            await conn.fetchval(
                "SELECT scan_id FROM entries WHERE session_id = $1 AND ticket_id = $2",
                session["id"],
                ticket,
            )
            == old
        )

        # A retry of the archived scan: turned away, answered from its nonce, never stored.
        r = await admin.http.post(
            "/api/scan",
            json={"code": code, "nonce": nonce, "door": "main", "device": "archive-tab"},
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["scan_id"], body["replayed"], body["result"], body["reason"]) == (
            old,
            True,
            "refused",
            "unknown",
        )
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM scans WHERE device = $1 AND nonce = $2", device, nonce
            )
            == 0
        )
        # The entry still stands: a new scan of the ticket is refused.
        again = await admin.http.post(
            "/api/scan", json={"code": code, "nonce": "after-archive-01", "door": "main"}
        )
        assert again.json()["reason"] == "already_entered"
        await conn.execute("DROP TABLE scans_p202003")
    finally:
        await conn.close()
