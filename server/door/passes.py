"""Passes (abonnements): creation, signed codes, and the scan that books and admits.

A pass has a holder (name, photo), a validity window, the sessions it may attend (a list,
or every session starting within its window) and optionally at most how many. Its code is
a ``GQ`` code with scope ``pass`` (``scope_id`` and ``ticket_id`` are the pass id) and the
pass's window (``docs/ticket-codes.md``).

Scanning a pass for a session (:class:`PassScanner`), online or uploaded offline:

1. the pure checks (:func:`scanning.decision.precheck`): ``pass_not_valid_for_session``
   (not among its sessions, or its ``max_sessions`` are booked elsewhere), the room, the
   window;
2. under a lock on the pass row (so concurrent scans of one pass queue, and
   ``max_sessions`` holds under concurrency), the pass's active bookings are read again;
   without a booking for the session one is made: a seat held in Redis under a fresh hold
   token (``holds_hold.lua``, a seat of the session's "pass" contingent first, then any
   free seat, trying another when one is taken meanwhile) or one general-admission place,
   then an order of kind ``pass`` and a ticket with ``pass_id`` in Postgres (the partial
   unique indexes forbid a second active booking of the pass for the session and a second
   active ticket for the seat); none left: ``session_full``;
3. the passage of the booked ticket (:class:`server.door.passage.Passage`: first scan wins
   on ``entries``, ``already_entered`` with when and where, re-entry, exit), in the same
   transaction; after the commit the hold is sold (``holds_sell.lua``), which pushes the
   seat live to seat-map subscribers.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from scanning.codes import TicketClaims, TicketScope, encode_code
from scanning.decision import Decision, Mode, PassFacts, Reason, ScannerContext, precheck
from server.door.keys import KeyStore
from server.door.passage import INSERT_SCAN, Passage, ScanReplayed
from server.door.requests import ScanRequest
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

_PASS_COLUMNS = (
    "p.id, p.holder_name, p.photo, p.valid_from, p.valid_until, p.all_sessions,"
    " p.session_ids, p.max_sessions, p.status, p.code_seed, p.created_at"
)

_SCAN_FACTS = f"""
SELECT
  (SELECT row(id, result, reason, session_id, ticket_id, mode) FROM scans
    WHERE device = $1 AND nonce = $2) AS replay,
  nextval('scans_id_seq') AS scan_id, {_PASS_COLUMNS},
  s.id AS s_id, s.room_id, s.starts_at, s.seated, s.seat_plan_id, s.reentry_allowed,
  (SELECT coalesce(array_agg(t.session_id), '{{}}') FROM tickets t
    WHERE t.pass_id = p.id AND t.status = 'active') AS booked,
  (SELECT t.id FROM tickets t WHERE t.pass_id = p.id AND t.session_id = s.id
    AND t.status = 'active') AS booking
FROM (SELECT 1) one
LEFT JOIN passes p ON p.id = $3
LEFT JOIN sessions s ON s.id = $4
"""

_TICKET = """
SELECT t.id, t.session_id, t.seat_idx, se.label AS seat, se.row_label AS row, ta.name AS tariff
FROM tickets t
JOIN sessions s ON s.id = t.session_id
LEFT JOIN tariffs ta ON ta.id = t.tariff_id
LEFT JOIN seats se ON se.plan_id = s.seat_plan_id AND se.idx = t.seat_idx
WHERE t.id = $1
"""

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


def pass_claims(row: asyncpg.Record) -> TicketClaims:
    return TicketClaims(
        ticket_id=row["id"],
        scope=TicketScope.PASS,
        scope_id=row["id"],
        valid_from=int(row["valid_from"].timestamp()),
        valid_until=int(row["valid_until"].timestamp()),
        seed=bytes(row["code_seed"]),
    )


def holder_json(row: asyncpg.Record) -> dict[str, Any]:
    return {"name": row["holder_name"], "photo": row["photo"]}


def pass_json(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "holder": holder_json(row),
        "valid_from": row["valid_from"].isoformat(),
        "valid_until": row["valid_until"].isoformat(),
        "all_sessions": row["all_sessions"],
        "session_ids": list(row["session_ids"]),
        "max_sessions": row["max_sessions"],
        "status": row["status"],
        "created_at": row["created_at"].isoformat(),
    }


@dataclass(frozen=True, slots=True)
class PassSpec:
    """A validated ``POST /api/passes`` body."""

    holder_name: str
    photo: str | None
    valid_from: datetime
    valid_until: datetime
    all_sessions: bool
    session_ids: tuple[int, ...]
    max_sessions: int | None


class PassService:
    def __init__(self, pool: asyncpg.Pool, keys: KeyStore) -> None:
        self.pool = pool
        self.keys = keys

    async def create(self, spec: PassSpec, user_id: int | None) -> dict[str, Any]:
        async with connection(self.pool) as conn:
            if spec.session_ids:
                found = {
                    r["id"]
                    for r in await conn.fetch(
                        "SELECT id FROM sessions WHERE id = ANY($1::bigint[])",
                        list(spec.session_ids),
                    )
                }
                unknown = sorted(set(spec.session_ids) - found)
                if unknown:
                    raise Invalid("unknown_sessions", "no such sessions", session_ids=unknown)
            row = await conn.fetchrow(
                "INSERT INTO passes (holder_name, photo, valid_from, valid_until, all_sessions,"
                " session_ids, max_sessions, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                f" RETURNING {_PASS_COLUMNS.replace('p.', '')}",
                spec.holder_name,
                spec.photo,
                spec.valid_from,
                spec.valid_until,
                spec.all_sessions,
                list(spec.session_ids),
                spec.max_sessions,
                user_id,
            )
        return {**pass_json(row), "bookings": []}

    async def get(self, pass_id: int) -> dict[str, Any]:
        async with connection(self.pool) as conn:
            row = await conn.fetchrow(
                f"SELECT {_PASS_COLUMNS} FROM passes p WHERE id = $1", pass_id
            )
            if row is None:
                raise NotFound.of("pass")
            bookings = await conn.fetch(
                "SELECT t.id, t.session_id, t.seat_idx, se.label AS seat, se.row_label AS row,"
                " t.created_at, e.entered_at, e.door, e.inside FROM tickets t"
                " JOIN sessions s ON s.id = t.session_id"
                " LEFT JOIN seats se ON se.plan_id = s.seat_plan_id AND se.idx = t.seat_idx"
                " LEFT JOIN entries e ON e.session_id = t.session_id AND e.ticket_id = t.id"
                " WHERE t.pass_id = $1 AND t.status = 'active' ORDER BY t.id",
                pass_id,
            )
        return {
            **pass_json(row),
            "bookings": [
                {
                    "ticket_id": b["id"],
                    "session_id": b["session_id"],
                    "seat_idx": b["seat_idx"],
                    "row": b["row"],
                    "seat": b["seat"],
                    "booked_at": b["created_at"].isoformat(),
                    "entered_at": b["entered_at"].isoformat() if b["entered_at"] else None,
                    "entered_door": b["door"],
                    "inside": b["inside"],
                }
                for b in bookings
            ],
        }

    async def code(self, pass_id: int) -> tuple[str, dict[str, Any]]:
        """The pass's current code (deterministic) and the pass."""
        async with connection(self.pool) as conn:
            row = await conn.fetchrow(
                f"SELECT {_PASS_COLUMNS} FROM passes p WHERE id = $1", pass_id
            )
        if row is None:
            raise NotFound.of("pass")
        if row["status"] != "active":
            raise Conflict("pass_not_active", f"the pass is {row['status']}")
        return encode_code(pass_claims(row), await self.keys.ring()), pass_json(row)


async def bundle_passes(conn: asyncpg.Connection, session_id: int) -> list[dict[str, Any]]:
    """The passes an offline scanner of ``session_id`` may see: every pass listing the
    session or covering its start, with whether it may attend (active, and booked here or
    under its ``max_sessions``), its booking here (``ticket_id``, to match ``entered``) and
    the seed of its current code (an older code is revoked)."""
    rows = await conn.fetch(
        "SELECT p.id, p.holder_name, p.status, p.code_seed, p.max_sessions,"
        " (SELECT t.id FROM tickets t WHERE t.pass_id = p.id AND t.session_id = s.id"
        "   AND t.status = 'active') AS ticket_id,"
        " (SELECT count(*) FROM tickets t WHERE t.pass_id = p.id AND t.status = 'active')"
        "   AS booked"
        " FROM passes p JOIN sessions s ON s.id = $1"
        " WHERE s.id = ANY(p.session_ids)"
        "  OR (p.all_sessions AND s.starts_at BETWEEN p.valid_from AND p.valid_until)"
        " ORDER BY p.id",
        session_id,
    )
    return [
        {
            "id": r["id"],
            "holder_name": r["holder_name"],
            "allowed": r["status"] == "active"
            and (
                r["ticket_id"] is not None
                or r["max_sessions"] is None
                or r["booked"] < r["max_sessions"]
            ),
            "status": r["status"],
            "ticket_id": r["ticket_id"],
            "seed": bytes(r["code_seed"]).hex(),
        }
        for r in rows
    ]


@dataclass(slots=True)
class PassOutcome:
    """What one pass scan did; the door service turns it into a ``scan_result``."""

    scan_id: int
    decision: Decision
    holder: dict[str, Any] | None = None
    ticket: dict[str, Any] | None = None
    ticket_id: int | None = None
    reentry: bool = False
    booked: bool = False
    replay: Any = None
    """The stored scan of the same (device, nonce), answered instead."""


@dataclass(slots=True)
class _Hold:
    """A place held in Redis for a booking in progress."""

    session_id: int
    token: str
    seats: list[int] = field(default_factory=list)
    places: int = 0
    outbox_entry: int = 0  # once booked: the entry that marks it sold in the mirror


class PassScanner:
    def __init__(self, pool: asyncpg.Pool, live: Live, outbox: Outbox) -> None:
        self.pool = pool
        self.live = live
        self.outbox = outbox

    async def scan(
        self, device: str, request: ScanRequest, claims: TicketClaims, *, offline: bool = False
    ) -> PassOutcome:
        """One pass scan. ``offline``: an uploaded scan, judged and recorded at its
        ``scanned_at`` (and stored with ``offline``)."""
        at = request.scanned_at if offline else None
        async with connection(self.pool) as conn:
            row = await conn.fetchrow(
                _SCAN_FACTS, device, request.nonce, claims.scope_id, request.session_id
            )
            holder = holder_json(row) if row["id"] is not None else None
            if row["replay"] is not None:
                return PassOutcome(row["replay"][0], Decision(None), holder, replay=row["replay"])
            session_known = row["s_id"] is not None
            context = ScannerContext(
                now=(at or datetime.now(UTC)).timestamp(),
                session_id=request.session_id if session_known else None,
                room_id=request.room_id,
                session_room_id=row["room_id"],
                mode=request.mode,
                reentry_allowed=bool(row["reentry_allowed"]),
            )
            outcome = PassOutcome(row["scan_id"], Decision(None), holder)
            decision = precheck(claims, _facts(row, claims, list(row["booked"] or [])), context)
            hold: _Hold | None = None
            try:
                if not decision.valid:
                    outcome.ticket_id = row["booking"]
                    await self._record(conn, outcome, device, request, decision, row["id"], at)
                else:
                    hold = await self._pass_through(conn, outcome, device, request, claims, row, at)
            except ScanReplayed:
                replay = await conn.fetchval(
                    "SELECT row(id, result, reason, session_id, ticket_id, mode) FROM scans"
                    " WHERE device = $1 AND nonce = $2",
                    device,
                    request.nonce,
                )
                return PassOutcome(replay[0], Decision(None), holder, replay=replay)
            if outcome.ticket_id is not None and outcome.ticket is None:
                ticket = await conn.fetchrow(_TICKET, outcome.ticket_id)
                outcome.ticket = dict(ticket) if ticket is not None else None
        if hold is not None:
            await self._sell(hold)
        return outcome

    async def _pass_through(
        self,
        conn: asyncpg.Connection,
        outcome: PassOutcome,
        device: str,
        request: ScanRequest,
        claims: TicketClaims,
        row: asyncpg.Record,
        at: datetime | None,
    ) -> _Hold | None:
        """Book if needed and pass the door, in one transaction under the pass row's lock.
        Returns the hold to sell once committed (a booking was made)."""
        hold: _Hold | None = None
        try:
            async with conn.transaction():
                await _lock_pass(conn, row["id"])
                # a new statement, so a new snapshot: bookings committed while we waited
                bookings = await conn.fetch(
                    "SELECT id, session_id FROM tickets WHERE pass_id = $1 AND status = 'active'",
                    row["id"],
                )
                session_id = row["s_id"]
                booking = next((b["id"] for b in bookings if b["session_id"] == session_id), None)
                context = ScannerContext(
                    now=(at or datetime.now(UTC)).timestamp(),
                    session_id=session_id,
                    room_id=request.room_id,
                    session_room_id=row["room_id"],
                    mode=request.mode,
                    reentry_allowed=bool(row["reentry_allowed"]),
                )
                facts = _facts(row, claims, [b["session_id"] for b in bookings])
                decision = precheck(claims, facts, context)
                if decision.valid and booking is None and request.mode is Mode.ENTRY:
                    hold = await self._book(conn, row)
                    if hold is None:
                        decision = Decision(Reason.SESSION_FULL, session_id)
                    else:
                        booking = outcome.ticket_id = await self._booked_ticket(conn, row, hold)
                        outcome.booked = booking is not None
                        if booking is None:  # the seat is sold in postgres: the mirror lags
                            decision = Decision(Reason.SESSION_FULL, session_id)
                if decision.valid and booking is None:  # an exit of a pass never booked
                    decision = Decision(Reason.NOT_INSIDE, session_id)
                if not decision.valid:
                    outcome.ticket_id = booking
                    await self._record(conn, outcome, device, request, decision, row["id"], at)
                else:
                    assert booking is not None
                    passage = Passage(
                        outcome.scan_id, device, request, booking, context, row["id"], at
                    )
                    outcome.decision, outcome.reentry = await passage.run(conn, decision)
                    outcome.ticket_id = booking
        except BaseException:
            if hold is not None:
                await self._release(hold)
            raise
        if hold is not None and not outcome.booked:
            await self._release(hold)
            return None
        return hold

    async def _record(
        self,
        conn: asyncpg.Connection,
        outcome: PassOutcome,
        device: str,
        request: ScanRequest,
        decision: Decision,
        pass_id: int | None,
        at: datetime | None,
    ) -> None:
        outcome.decision = decision
        inserted = await conn.fetchval(
            INSERT_SCAN,
            outcome.scan_id,
            outcome.ticket_id if decision.session_id is not None else None,
            decision.session_id,
            device,
            request.door,
            request.nonce,
            decision.result,
            decision.reason.value if decision.reason else None,
            request.scanned_at,
            request.mode.value,
            False,
            at is not None,
            pass_id,
        )
        if inserted is None:
            raise ScanReplayed

    # -- booking ---------------------------------------------------------------------------

    async def _book(self, conn: asyncpg.Connection, row: asyncpg.Record) -> _Hold | None:
        """Hold one seat (or place) for the pass in Redis; None when none is left."""
        session_id: int = row["s_id"]
        hold = _Hold(session_id, "pass-" + secrets.token_urlsafe(16))
        if not row["seated"]:
            try:
                await self.live.hold(session_id, hold.token, [], 1, HOLD_TTL_MS, HOLD_TTL_MS)
            except HoldRefused:
                return None
            hold.places = 1
            return hold
        for _attempt in range(2):  # a second look if every candidate was taken meanwhile
            candidates = await self._candidates(conn, session_id, row["seat_plan_id"])
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

    async def _booked_ticket(
        self, conn: asyncpg.Connection, row: asyncpg.Record, hold: _Hold
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
                    f"pass-{row['id']}-{session_id}-{hold.token}",
                    session_id,
                    hold.token,
                    row["holder_name"],
                    tariff["currency"],
                    hold.seats[0] if hold.seats else None,
                    tariff["id"],
                    row["id"],
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
                "pass %s: seat %s of session %s sold in postgres", row["id"], hold.seats, session_id
            )
            return None
        return ticket_id

    async def _release(self, hold: _Hold) -> None:
        with contextlib.suppress(DomainError, HoldRefused):
            await self.live.release(hold.session_id, hold.token, None)

    async def _sell(self, hold: _Hold) -> None:
        """The booking committed: the held seat becomes sold, live (or, if Redis fails, by
        the outbox worker)."""
        args = {"token": hold.token, "seats": hold.seats, "quantity": hold.places}
        await self.outbox.apply_now(hold.outbox_entry, hold.session_id, Op.SELL, args)


async def _lock_pass(conn: asyncpg.Connection, pass_id: int) -> None:
    """Concurrent scans of one pass queue here (a race test's control switches it off)."""
    if not switched_off("door.pass_lock"):
        await conn.execute("SELECT 1 FROM passes WHERE id = $1 FOR UPDATE", pass_id)


def _facts(row: asyncpg.Record, claims: TicketClaims, booked: list[int]) -> PassFacts | None:
    if row["id"] is None:
        return None
    allowed = set(row["session_ids"])
    starts = row["starts_at"]
    if (
        row["all_sessions"]
        and starts is not None
        and row["valid_from"] <= starts <= row["valid_until"]
    ):
        allowed.add(row["s_id"])
    return PassFacts(
        pass_id=row["id"],
        session_ids=frozenset(allowed),
        status=row["status"],
        revoked=claims.seed != bytes(row["code_seed"]),
        max_sessions=row["max_sessions"],
        booked_sessions=frozenset(booked),
    )
