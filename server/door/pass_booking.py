"""Booking a session on a pass: one seat (or general-admission place) held in Redis, then
an order of kind ``pass`` and its ticket in Postgres, the seat sold in Redis after the
commit (docs/door.md, "Passes").

Two callers book this way, both under a lock on the pass row so that concurrent bookings
of one pass queue (``max_sessions`` holds, one booking per session):

- the door, when a pass is scanned for a session it has no booking for
  (:class:`server.door.passes.PassScanner`, which admits in the same transaction);
- the cash desk (:class:`PassBookings`), by pass id or by the pass's scanned code, which
  books without admitting, and answers the booking already made for that session.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from scanning.codes import CodeError, TicketScope
from server.door.keys import KeyStore
from server.door.verify import verify_one
from server.platform import audit
from server.platform.audit import Actor
from server.platform.db import connection
from server.platform.errors import Conflict, DomainError, Invalid, NotFound
from server.platform.failpoints import switched_off
from server.seating.live import HoldRefused, Live
from server.seating.outbox import Op, Outbox, record

log = logging.getLogger(__name__)

HOLD_TTL_MS = 30_000
"""A pass booking's seat is held this long at most (it is sold right after the commit)."""
SEAT_TRIES = 8
"""Free seats tried, one after the other, when a candidate is taken concurrently."""
PASS_CONTINGENT = "pass"
"""A session's contingent of this name (any case) gives the seats booked on passes first."""

_BOOK = """
WITH o AS (
  INSERT INTO orders (idempotency_key, session_id, hold_token, channel, buyer_name,
                      total_cents, currency, kind)
  VALUES ($1, $2, $3, 'pass', $4, 0, $5, 'pass') RETURNING id)
INSERT INTO tickets (order_id, session_id, seat_idx, tariff_id, price_cents, pass_id)
SELECT o.id, $2, $6, $7, 0, $8 FROM o RETURNING id
"""

# The tariff a pass booking is recorded under (at price 0: the pass is paid): a tariff
# named like the pass ("pass", "abonnement"), else the session's cheapest.
_TARIFF = """
SELECT id, currency FROM tariffs WHERE session_id = $1
ORDER BY (lower(name) IN ('pass', 'abonnement')) DESC, price_cents, id LIMIT 1
"""

BOOKING = """
SELECT t.id AS ticket_id, t.session_id, t.seat_idx, se.row_label AS row, se.label AS seat,
       t.created_at AS booked_at, e.entered_at, e.door AS entered_door, e.inside
FROM tickets t
JOIN sessions s ON s.id = t.session_id
LEFT JOIN seats se ON se.plan_id = s.seat_plan_id AND se.idx = t.seat_idx
LEFT JOIN entries e ON e.session_id = t.session_id AND e.ticket_id = t.id
"""
"""A pass's bookings as ``GET /api/passes/{id}`` shows them (add the WHERE)."""


def booking_json(b: asyncpg.Record) -> dict[str, Any]:
    return {
        "ticket_id": b["ticket_id"],
        "session_id": b["session_id"],
        "seat_idx": b["seat_idx"],
        "row": b["row"],
        "seat": b["seat"],
        "booked_at": b["booked_at"].isoformat(),
        "entered_at": b["entered_at"].isoformat() if b["entered_at"] else None,
        "entered_door": b["entered_door"],
        "inside": b["inside"],
    }


async def lock_pass(conn: asyncpg.Connection, pass_id: int) -> None:
    """Concurrent bookings of one pass queue here (a race test's control switches it off)."""
    if not switched_off("door.pass_lock"):
        await conn.execute("SELECT 1 FROM passes WHERE id = $1 FOR UPDATE", pass_id)


@dataclass(slots=True)
class Hold:
    """A place held in Redis for a booking in progress."""

    session_id: int
    token: str
    seats: list[int] = field(default_factory=list)
    places: int = 0
    outbox_entry: int = 0  # once booked: the entry that marks it sold in the mirror


class Booker:
    """The steps of a booking, for a caller that holds the pass row's lock."""

    def __init__(self, live: Live, outbox: Outbox) -> None:
        self.live = live
        self.outbox = outbox

    async def hold(
        self, conn: asyncpg.Connection, session_id: int, seated: bool, plan_id: int | None
    ) -> Hold | None:
        """Hold one seat (or place) for a pass in Redis; None when none is left."""
        hold = Hold(session_id, "pass-" + secrets.token_urlsafe(16))
        if not seated:
            try:
                await self.live.hold(session_id, hold.token, [], 1, HOLD_TTL_MS, HOLD_TTL_MS)
            except HoldRefused:
                return None
            hold.places = 1
            return hold
        assert plan_id is not None
        for _attempt in range(2):  # a second look if every candidate was taken meanwhile
            candidates = await self._candidates(conn, session_id, plan_id)
            if not candidates:
                return None
            for seat in candidates[:SEAT_TRIES]:
                try:
                    await self.live.hold(
                        session_id, hold.token, [seat], 0, HOLD_TTL_MS, HOLD_TTL_MS
                    )
                except HoldRefused:
                    continue
                hold.seats = [seat]
                return hold
        return None

    async def _candidates(
        self, conn: asyncpg.Connection, session_id: int, plan_id: int
    ) -> list[int]:
        """Free seats, those of the session's "pass" contingent first, in plan order."""
        snapshot = await self.live.snapshot(session_id)
        free = [i for i in range(snapshot.seat_count) if i not in snapshot.states]
        preferred = {
            r["idx"]
            for r in await conn.fetch(
                "SELECT se.idx FROM contingents c JOIN seats se ON se.plan_id = $2"
                " AND se.seat_id = ANY(c.seat_ids) WHERE c.session_id = $1"
                " AND lower(c.name) = $3",
                session_id,
                plan_id,
                PASS_CONTINGENT,
            )
        }
        return [i for i in free if i in preferred] + [i for i in free if i not in preferred]

    async def record(
        self, conn: asyncpg.Connection, pass_id: int, holder_name: str, hold: Hold
    ) -> int | None:
        """The order (kind ``pass``) and ticket of the booking, in a savepoint; None when
        Postgres refuses the seat (sold, though the mirror showed it free) or the place
        (general admission at capacity)."""
        session_id = hold.session_id
        tariff = await conn.fetchrow(_TARIFF, session_id)
        if tariff is None:
            return None  # a session without tariffs sells nothing, passes included
        try:
            async with conn.transaction():
                ticket_id: int = await conn.fetchval(
                    _BOOK,
                    f"pass-{pass_id}-{session_id}-{hold.token}",
                    session_id,
                    hold.token,
                    holder_name,
                    tariff["currency"],
                    hold.seats[0] if hold.seats else None,
                    tariff["id"],
                    pass_id,
                )
                hold.outbox_entry = await record(
                    conn,
                    session_id,
                    Op.SELL,
                    {"token": hold.token, "seats": hold.seats, "quantity": hold.places},
                )
        except asyncpg.CheckViolationError:  # general admission at capacity (ga_counters)
            return None
        except asyncpg.UniqueViolationError:
            log.error(
                "pass %s: seat %s of session %s sold in postgres", pass_id, hold.seats, session_id
            )
            return None
        return ticket_id

    async def release(self, hold: Hold) -> None:
        with contextlib.suppress(DomainError, HoldRefused):
            await self.live.release(hold.session_id, hold.token, None)

    async def sell(self, hold: Hold) -> None:
        """The booking committed: the held seat becomes sold, live (or, if Redis fails, by
        the outbox worker)."""
        args = {"token": hold.token, "seats": hold.seats, "quantity": hold.places}
        await self.outbox.apply_now(hold.outbox_entry, hold.session_id, Op.SELL, args)


_PASS_AND_SESSION = """
SELECT p.id, p.holder_name, p.status, p.valid_from, p.valid_until, p.all_sessions,
       p.session_ids, p.max_sessions,
       s.id AS s_id, s.starts_at, s.ends_at, s.seated, s.seat_plan_id
FROM passes p LEFT JOIN sessions s ON s.id = $2
WHERE p.id = $1
"""


def may_attend(row: asyncpg.Record, booked: set[int]) -> bool:
    """The pass lists the session (or covers its start), and a booking is left under its
    ``max_sessions`` (a session booked already is always allowed)."""
    session_id = row["s_id"]
    listed = session_id in row["session_ids"] or (
        row["all_sessions"] and row["valid_from"] <= row["starts_at"] <= row["valid_until"]
    )
    if not listed:
        return False
    limit = row["max_sessions"]
    return session_id in booked or limit is None or len(booked) < limit


class PassBookings:
    """Booking a session on a pass at the desk (no admission)."""

    def __init__(self, pool: asyncpg.Pool, booker: Booker, keys: KeyStore) -> None:
        self.pool = pool
        self.booker = booker
        self.keys = keys

    async def pass_of_code(self, code: str) -> int:
        """The pass a scanned code names, verified with the door's key ring: 400
        ``invalid_code`` for an unreadable or forged code or one that is not a pass's, 409
        ``revoked`` for a code the pass no longer has (its code was reissued)."""
        claims = verify_one(code.strip(), await self.keys.public_keys())
        if isinstance(claims, CodeError):
            raise Invalid(
                "invalid_code", "this code is not a valid pass code", reason=claims.reason
            )
        if claims.scope is not TicketScope.PASS:
            raise Invalid("invalid_code", "this code is a ticket's, not a pass's")
        async with connection(self.pool) as conn:
            seed = await conn.fetchval(
                "SELECT code_seed FROM passes WHERE id = $1", claims.scope_id
            )
        if seed is None:
            raise NotFound.of("pass")
        if bytes(seed) != claims.seed:
            raise Conflict("revoked", "this code of the pass was replaced by another")
        return claims.scope_id

    async def book(
        self, pass_id: int, session_id: int, actor: Actor
    ) -> tuple[dict[str, Any], bool]:
        """Book ``session_id`` on the pass; the booking and whether this call made it
        (False: the pass had one for that session already)."""
        hold: Hold | None = None
        ticket_id: int | None = None
        async with connection(self.pool) as conn:
            try:
                async with conn.transaction():
                    await lock_pass(conn, pass_id)
                    row = await conn.fetchrow(_PASS_AND_SESSION, pass_id, session_id)
                    booked = await self._check(conn, row)
                    ticket_id = booked.get(session_id)
                    if ticket_id is None:
                        hold, ticket_id = await self._book(conn, row)
                        await audit.record(
                            conn,
                            actor,
                            "pass.book",
                            f"pass:{pass_id}",
                            session_id=session_id,
                            ticket_id=ticket_id,
                        )
            except BaseException:
                if hold is not None:
                    await self.booker.release(hold)
                raise
            if hold is not None:
                await self.booker.sell(hold)
            booking = await conn.fetchrow(BOOKING + " WHERE t.id = $1", ticket_id)
        return booking_json(booking), hold is not None

    async def _check(self, conn: asyncpg.Connection, row: asyncpg.Record | None) -> dict[int, int]:
        """Under the pass's lock: the pass is active and may attend the session. Its
        active bookings, session → ticket."""
        if row is None:
            raise NotFound.of("pass")
        if row["s_id"] is None:
            raise NotFound.of("session")
        if row["status"] != "active":
            raise Conflict("pass_not_active", f"the pass is {row['status']}")
        booked = {
            r["session_id"]: r["id"]
            for r in await conn.fetch(
                "SELECT id, session_id FROM tickets WHERE pass_id = $1 AND status = 'active'",
                row["id"],
            )
        }
        if not may_attend(row, set(booked)):
            raise Conflict(
                "pass_not_valid_for_session",
                "the pass does not cover this session, or its sessions are all booked",
                max_sessions=row["max_sessions"],
                booked=len(booked),
            )
        if row["ends_at"] <= datetime.now(UTC):
            raise Conflict("session_over", "this session is over")
        return booked

    async def _book(self, conn: asyncpg.Connection, row: asyncpg.Record) -> tuple[Hold, int]:
        hold = await self.booker.hold(conn, row["s_id"], row["seated"], row["seat_plan_id"])
        if hold is None:
            raise Conflict("session_full", "no seat or place is left for the pass")
        try:
            ticket_id = await self.booker.record(conn, row["id"], row["holder_name"], hold)
        except BaseException:
            await self.booker.release(hold)
            raise
        if ticket_id is None:
            await self.booker.release(hold)
            raise Conflict("session_full", "no seat or place is left for the pass")
        return hold, ticket_id
