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

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from scanning.codes import TicketClaims, TicketScope, encode_code
from scanning.decision import Decision, Mode, PassFacts, Reason, ScannerContext, precheck
from server.door.keys import KeyStore
from server.door.nonces import REPLAY, replay_of
from server.door.pass_booking import BOOKING, Booker, Hold, booking_json, lock_pass
from server.door.passage import INSERT_SCAN, Passage, ScanReplayed
from server.door.requests import ScanRequest
from server.platform.db import connection
from server.platform.errors import Conflict, Invalid, NotFound

MAX_PHOTO_CHARS = 64 * 1024
"""A photo given inline is a data URL of at most this many characters (about 48 KB)."""
MAX_PHOTO_URL = 2000
_DATA_URL = re.compile(r"^data:image/(png|jpeg|webp|gif);base64,([A-Za-z0-9+/]+={0,2})$")

_PASS_COLUMNS = (
    "p.id, p.holder_name, p.photo, p.valid_from, p.valid_until, p.all_sessions,"
    " p.session_ids, p.max_sessions, p.status, p.code_seed, p.created_at, p.pass_type_id,"
    " p.holder_first_name, p.holder_last_name"
)

_SCAN_FACTS = f"""
SELECT
  {replay_of("$1", "$2")} AS replay,
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


def check_photo(raw: object) -> str | None:
    """A small ``data:image/...;base64,`` URL, or an ``https://`` URL."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise Invalid("invalid_field", "'photo' is a data URL or an https URL", field="photo")
    if raw.startswith("data:"):
        if len(raw) > MAX_PHOTO_CHARS:
            raise Invalid(
                "photo_too_large",
                f"an inline photo is at most {MAX_PHOTO_CHARS} characters; use an https URL",
                field="photo",
            )
        match = _DATA_URL.match(raw)
        try:
            valid = match is not None and bool(base64.b64decode(match[2], validate=True))
        except binascii.Error:
            valid = False
        if not valid:
            raise Invalid(
                "invalid_field",
                "'photo' must be data:image/(png|jpeg|webp|gif);base64,...",
                field="photo",
            )
        return raw
    parts = urlsplit(raw)
    if (
        parts.scheme != "https"
        or not parts.netloc
        or len(raw) > MAX_PHOTO_URL
        or any(c.isspace() or not c.isprintable() or c in "\"'<>" for c in raw)
    ):
        raise Invalid("invalid_field", "'photo' is a data URL or an https URL", field="photo")
    return raw


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
        "pass_type_id": row["pass_type_id"],
        "holder_first_name": row["holder_first_name"],
        "holder_last_name": row["holder_last_name"],
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


@dataclass(frozen=True, slots=True)
class PassQuery:
    """A search of passes: words of the holder's names (or an id), status, type, page."""

    q: str = ""
    status: str | None = None
    pass_type_id: int | None = None
    limit: int = 20
    offset: int = 0

    @property
    def id_asked(self) -> int | None:
        q = self.q.strip().lstrip("#")
        return int(q) if q.isascii() and q.isdigit() and len(q) <= 18 else None


def _escape(word: str) -> str:
    """A word taken literally in ILIKE (``%``, ``_`` and the escape itself)."""
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


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
                BOOKING + " WHERE t.pass_id = $1 AND t.status = 'active' ORDER BY t.id",
                pass_id,
            )
        return {**pass_json(row), "bookings": [booking_json(b) for b in bookings]}

    async def search(self, query: PassQuery) -> list[dict[str, Any]]:
        """Passes whose holder's names hold every word of ``q`` (any case), or whose id it
        is, newest first; without the photos (fetch a pass for its photo)."""
        words = query.q.split()
        async with connection(self.pool) as conn:
            rows = await conn.fetch(
                "SELECT p.id, p.holder_name, p.holder_first_name, p.holder_last_name,"
                " p.pass_type_id, pt.name AS pass_type, p.status, p.valid_from, p.valid_until,"
                " p.photo IS NOT NULL AS has_photo, p.created_at,"
                " (SELECT count(*) FROM tickets t WHERE t.pass_id = p.id"
                "   AND t.status = 'active') AS bookings"
                " FROM passes p LEFT JOIN pass_types pt ON pt.id = p.pass_type_id"
                " WHERE ($1::bigint IS NOT NULL AND p.id = $1"
                "   OR coalesce((SELECT bool_and(p.holder_name ILIKE w ESCAPE '\\')"
                "     FROM unnest($2::text[]) w), true))"
                " AND ($3::text IS NULL OR p.status = $3)"
                " AND ($4::bigint IS NULL OR p.pass_type_id = $4)"
                " ORDER BY p.id DESC LIMIT $5 OFFSET $6",
                query.id_asked,
                [f"%{_escape(w)}%" for w in words],
                query.status,
                query.pass_type_id,
                query.limit,
                query.offset,
            )
        return [
            {
                "id": r["id"],
                "holder_name": r["holder_name"],
                "holder_first_name": r["holder_first_name"],
                "holder_last_name": r["holder_last_name"],
                "pass_type_id": r["pass_type_id"],
                "pass_type": r["pass_type"],
                "status": r["status"],
                "valid_from": r["valid_from"].isoformat(),
                "valid_until": r["valid_until"].isoformat(),
                "has_photo": r["has_photo"],
                "bookings": r["bookings"],
                "created_at": r["created_at"].isoformat(),
            }
            for r in rows
        ]

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


class PassScanner:
    def __init__(self, pool: asyncpg.Pool, booker: Booker) -> None:
        self.pool = pool
        self.booker = booker

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
            hold: Hold | None = None
            try:
                if not decision.valid:
                    outcome.ticket_id = row["booking"]
                    await self._record(conn, outcome, device, request, decision, row["id"], at)
                else:
                    hold = await self._pass_through(conn, outcome, device, request, claims, row, at)
            except ScanReplayed:
                replay = await conn.fetchval(REPLAY, device, request.nonce)
                return PassOutcome(replay[0], Decision(None), holder, replay=replay)
            if outcome.ticket_id is not None and outcome.ticket is None:
                ticket = await conn.fetchrow(_TICKET, outcome.ticket_id)
                outcome.ticket = dict(ticket) if ticket is not None else None
        if hold is not None:
            await self.booker.sell(hold)
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
    ) -> Hold | None:
        """Book if needed and pass the door, in one transaction under the pass row's lock.
        Returns the hold to sell once committed (a booking was made)."""
        hold: Hold | None = None
        try:
            async with conn.transaction():
                await lock_pass(conn, row["id"])
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
                    hold = await self.booker.hold(
                        conn, session_id, row["seated"], row["seat_plan_id"]
                    )
                    booking = await self._record_booking(conn, outcome, row, hold)
                    if booking is None:  # none left, or sold in postgres: the mirror lags
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
                await self.booker.release(hold)
            raise
        if hold is not None and not outcome.booked:
            await self.booker.release(hold)
            return None
        return hold

    async def _record_booking(
        self, conn: asyncpg.Connection, outcome: PassOutcome, row: asyncpg.Record, hold: Hold | None
    ) -> int | None:
        """The order and ticket of the place held (None: nothing held, or refused)."""
        if hold is None:
            return None
        booking = await self.booker.record(conn, row["id"], row["holder_name"], hold)
        outcome.ticket_id = booking
        outcome.booked = booking is not None
        return booking

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
