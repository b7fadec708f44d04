"""Releasing unscanned reservations (the organiser's Contingents tab, seed 004).

A *reservation* is a ticket that holds a place without being a plain sale: a ticket of an
order booked as a reservation (``orders.kind = 'reservation'``), or a ticket booked on a
pass (``tickets.pass_id``). Tickets sold as such for one session are never released. A
reservation is *unscanned* when no scan ever admitted it (no ``entries`` row).

The organiser previews how many places a release frees, then confirms with that count:
the release runs in one transaction that locks the tickets and refuses (409
``count_changed``) if the count is not the previewed one any more; released tickets are
``cancelled`` and their codes revoked. Freed seats and places are pushed live to seat-map
subscribers, the revoked codes to the door channel.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from server.door.counters import DoorLive
from server.platform import audit
from server.platform.audit import SYSTEM, Actor
from server.platform.db import connection
from server.platform.errors import Conflict, NotFound
from server.platform.failpoints import failpoint
from server.seating.outbox import Op, Outbox, record

DEFAULT_MINUTES = 15

_UNSCANNED = """
SELECT t.id, t.seat_idx, t.code_seed, se.seat_id
FROM tickets t
JOIN orders o ON o.id = t.order_id
JOIN sessions s ON s.id = t.session_id
LEFT JOIN seats se ON se.plan_id = s.seat_plan_id AND se.idx = t.seat_idx
WHERE t.session_id = $1 AND t.status = 'active'
  AND (o.kind = 'reservation' OR t.pass_id IS NOT NULL)
  AND t.created_at < now() - make_interval(mins => $2)
  AND NOT EXISTS (SELECT 1 FROM entries e WHERE e.session_id = t.session_id
                  AND e.ticket_id = t.id)
ORDER BY t.id
"""


class ReservationRelease:
    def __init__(self, pool: asyncpg.Pool, door_live: DoorLive, outbox: Outbox) -> None:
        self.pool = pool
        self.live = door_live
        self.outbox = outbox

    async def preview(self, session_id: int, older_than_minutes: int) -> dict[str, Any]:
        async with connection(self.pool) as conn:
            await _check_session(conn, session_id)
            rows = await conn.fetch(_UNSCANNED, session_id, older_than_minutes)
        return _summary(session_id, older_than_minutes, rows)

    async def release(
        self, session_id: int, older_than_minutes: int, expected_count: int, actor: Actor = SYSTEM
    ) -> dict[str, Any]:
        async with connection(self.pool) as conn, conn.transaction():
            await _check_session(conn, session_id)
            # Locked: two releases (or a refund) of one ticket queue and the second skips it.
            rows = await conn.fetch(_UNSCANNED + " FOR UPDATE OF t", session_id, older_than_minutes)
            if len(rows) != expected_count:
                raise Conflict(
                    "count_changed",
                    "the unscanned reservations changed since the preview",
                    expected_count=expected_count,
                    count=len(rows),
                )
            ids = [r["id"] for r in rows]
            await conn.execute(
                "UPDATE tickets SET status = 'cancelled' WHERE id = ANY($1::bigint[])", ids
            )
            await conn.execute(
                "INSERT INTO revocations (ticket_id, seed, reason)"
                " SELECT t, seed, 'released' FROM unnest($1::bigint[], $2::bytea[]) AS u(t, seed)"
                " ON CONFLICT DO NOTHING",
                ids,
                [r["code_seed"] for r in rows],
            )
            seats = [r["seat_idx"] for r in rows if r["seat_idx"] is not None]
            args = {"seats": seats, "places": sum(1 for r in rows if r["seat_idx"] is None)}
            entry = await record(conn, session_id, Op.UNSELL, args) if rows else 0
            await audit.record(
                conn,
                actor,
                "reservations.release",
                f"session:{session_id}",
                tickets=ids,
                older_than_minutes=older_than_minutes,
            )
        if rows:
            await failpoint("door.release_after_commit")
            await self.outbox.apply_now(entry, session_id, Op.UNSELL, args)
            revoked = [f"{r['id']}:{bytes(r['code_seed']).hex()}" for r in rows]
            await self.live.publish(session_id, {"revoked": revoked})
        return {**_summary(session_id, older_than_minutes, rows), "released": True}


async def _check_session(conn: asyncpg.Connection, session_id: int) -> None:
    if not await conn.fetchval("SELECT true FROM sessions WHERE id = $1", session_id):
        raise NotFound.of("session")


def _summary(session_id: int, minutes: int, rows: list[asyncpg.Record]) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "older_than_minutes": minutes,
        "count": len(rows),
        "seats": [r["seat_id"] for r in rows if r["seat_idx"] is not None],
        "places": sum(1 for r in rows if r["seat_idx"] is None),
        "ticket_ids": [r["id"] for r in rows],
    }
