"""First entries written together (server/door/first_entries.py): one statement for the
scans of a moment, and still exactly one entry per ticket."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg

from server.door.first_entries import FirstEntries, FirstEntry, Outcome
from tests import support
from tests.door.test_door_api import buy_tickets, door_session
from tests.support import Api


async def test_one_batch_admits_each_ticket_once_and_keeps_retries_apart(
    admin: Api, buyer: Api
) -> None:
    session = await door_session(admin)
    _, tickets = await buy_tickets(buyer, session, 3)
    pool = await asyncpg.create_pool(support.testing_database_url(), min_size=1, max_size=2)
    assert pool is not None
    try:
        first_entries = FirstEntries(pool)
        scan_ids = await pool.fetch(
            "SELECT nextval('scans_id_seq') AS id FROM generate_series(1, 9)"
        )
        device = f"gate-{uuid.uuid4().hex[:8]}"
        retried = uuid.uuid4().hex
        items = [  # each ticket scanned three times at once; two scans share a nonce
            FirstEntry(
                scan_ids[k]["id"],
                tickets[k % 3],
                session["id"],
                device,
                f"door-{k}",
                retried if k in (0, 1) else uuid.uuid4().hex,
                datetime.now(UTC),
            )
            for k in range(9)
        ]
        outcomes = await asyncio.gather(*(first_entries.record(item) for item in items))
        assert first_entries.coalescer.batches < len(items)  # they went together
        for ticket in tickets:
            mine = [o for item, o in zip(items, outcomes, strict=True) if item.ticket_id == ticket]
            assert sum(o.won for o in mine) == 1
        # a second scan under a device and nonce already used is turned away whole (its
        # ticket's entry is not taken); the others of its batch are written all the same
        assert outcomes[0] == Outcome(won=True) and outcomes[1] == Outcome(False, replayed=True)
        assert sum(o.won for o in outcomes[2:]) == 2 and not any(o.replayed for o in outcomes[2:])
        entries = await pool.fetch(
            "SELECT ticket_id, scan_id FROM entries WHERE session_id = $1", session["id"]
        )
        assert sorted(e["ticket_id"] for e in entries) == sorted(tickets)
        valid = await pool.fetch(
            "SELECT id FROM scans WHERE device = $1 AND result = 'valid'", device
        )
        assert {v["id"] for v in valid} == {e["scan_id"] for e in entries}
    finally:
        await pool.close()
