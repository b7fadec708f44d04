"""The door service: scans (online and uploaded offline), refunds, codes, the scanner bundle.

The decision itself is pure (:mod:`scanning.decision`); this module brings the facts from
Postgres and records the outcome. *First scan wins* is decided by Postgres alone: the
primary key of ``entries`` (session, ticket) and ``INSERT ... ON CONFLICT DO NOTHING
RETURNING``. A retried scan (same device and nonce) returns the stored result.

Offline uploads apply first-scan-wins by *scan time*: an uploaded scan earlier than the
recorded entry takes the entry over, and the organiser gets a conflict listing both scans
(both let someone in); no scan is ever dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg

from scanning.codes import CodeError, TicketClaims, TicketScope, verify_code
from scanning.decision import Decision, Mode, Reason, passage_in
from server.door.batch import BatchUpload
from server.door.coalesced import FactsQuery, OnlineFacts, RefusedScan, RefusedScans
from server.door.counters import ENTERED, EXITED, Counted, DoorEvent, DoorLive
from server.door.first_entries import FirstEntries, FirstEntry
from server.door.keys import KeyStore, ticket_code
from server.door.nonces import REPLAY
from server.door.online import OnlineScan, check_retry
from server.door.pass_booking import Booker
from server.door.passage import Passage, ScanReplayed
from server.door.passes import PassScanner, bundle_passes
from server.door.requests import ScanRequest
from server.door.verify import verify_many
from server.platform import audit
from server.platform.audit import SYSTEM, Actor
from server.platform.db import connection
from server.platform.errors import Conflict, DomainError, Forbidden, NotFound
from server.platform.failpoints import failpoint
from server.seating.outbox import Op, Outbox, record
from server.web.requests import Page

log = logging.getLogger(__name__)

RefundHook = Callable[[asyncpg.Connection, list[asyncpg.Record]], Awaitable[None]]
"""Runs in a refund's transaction with the refunded tickets' rows (id, session_id,
seat_idx, code_seed, order_id)."""


def _forged(claims: TicketClaims | CodeError) -> bool:
    return isinstance(claims, CodeError) and claims.reason == "forged"


def _verify(code: str, public_keys: dict[int, bytes]) -> TicketClaims | CodeError:
    try:
        return verify_code(code, public_keys)
    except CodeError as exc:
        return exc


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _at(seconds: float | None) -> str | None:
    return datetime.fromtimestamp(seconds, UTC).isoformat() if seconds is not None else None


def result_json(
    scan_id: int,
    decision: Decision,
    ticket: dict[str, Any] | None,
    *,
    replayed: bool = False,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "scan_id": scan_id,
        "result": decision.result,
        "reason": decision.reason.value if decision.reason else None,
        "session_id": decision.session_id,
        "ticket": ticket,
        "replayed": replayed,
    }
    if decision.reason in (Reason.ALREADY_ENTERED, Reason.NO_REENTRY):
        body["entered_at"] = _at(decision.entered_at)
        body["entered_door"] = decision.door
    return body


class DoorService:
    def __init__(
        self, pool: asyncpg.Pool, keys: KeyStore, door_live: DoorLive, outbox: Outbox
    ) -> None:
        self.pool = pool
        self.keys = keys
        self.live = door_live
        self.outbox = outbox
        self.passes = PassScanner(pool, Booker(door_live.seats, outbox))
        self.facts = OnlineFacts(pool)
        self.first_entries = FirstEntries(pool)
        self.refusals = RefusedScans(pool)
        self.refund_guard: RefundHook | None = None
        """Runs in a single ticket's refund (the app sets the cash desk's: a journalled
        sale is refunded through its register, so the journal keeps the money; then the
        part refund a paid e-shop order's payment owes)."""
        self.after_refund: Callable[[], Awaitable[object]] | None = None
        """Runs after a single ticket's refund is committed (the app's: pay the part
        refunds due now; any process's refund worker pays what it could not)."""

    # -- online scan -----------------------------------------------------------------------

    async def _claims(self, code: str) -> TicketClaims | CodeError:
        """Verify a code; a key id this process does not know yet makes it reload the ring
        (rate-limited) before the code is called forged."""
        claims = _verify(code, await self.keys.public_keys())
        if _forged(claims) and await self.keys.refresh():
            claims = _verify(code, await self.keys.public_keys())
        return claims

    async def scan(self, device: str, request: ScanRequest) -> dict[str, Any]:
        claims = await self._claims(request.code)
        if isinstance(claims, TicketClaims) and claims.scope is TicketScope.PASS:
            return await self.scan_pass(device, request, claims)
        ticket_id = claims.ticket_id if isinstance(claims, TicketClaims) else 0
        seed = claims.seed if isinstance(claims, TicketClaims) else b""
        row = await self.facts.read(FactsQuery(device, request.nonce, ticket_id, seed))
        if row["replay"] is not None:
            check_retry(row["replay"], claims, request)
            async with connection(self.pool) as conn:
                return await self._replayed(conn, row["replay"], request.mode)
        scan = OnlineScan(device, request, claims, row)
        await failpoint("door.facts_read")  # a race test widens the window to the write
        try:
            decision, reentry, counted = await self._decide(scan)
        except ScanReplayed:
            async with connection(self.pool) as conn:
                replay = await conn.fetchval(REPLAY, device, request.nonce)
                check_retry(replay, claims, request)
                return await self._replayed(conn, replay, request.mode)
        await self._count_online(scan.scan_id, request, decision, ticket_id, counted)
        body = result_json(scan.scan_id, decision, _ticket_json(row))
        body["mode"] = request.mode.value
        if reentry:
            body["reentry"] = True
        return body

    async def _decide(self, scan: OnlineScan) -> tuple[Decision, bool, int | None]:
        """Record an online ticket scan: returns the decision, whether it was a re-entry
        and the session it counts for. The two common cases take one statement: a first
        entry (written together with the other first entries of the moment,
        :mod:`server.door.first_entries`) and a re-scan where re-entry is not allowed
        (refused from the entry the facts brought)."""
        decision, request = scan.decision, scan.request
        if not decision.valid:
            return decision, False, await self._refuse(scan, decision)
        assert isinstance(scan.claims, TicketClaims) and decision.session_id is not None
        session_id = decision.session_id
        passage = Passage(scan.scan_id, scan.device, request, scan.claims.ticket_id, scan.context)
        if request.mode is Mode.ENTRY and scan.entry is None:
            first = FirstEntry(
                scan.scan_id,
                passage.ticket_id,
                session_id,
                scan.device,
                request.door,
                request.nonce,
                request.scanned_at,
            )
            outcome = await self.first_entries.record(first)
            if outcome.replayed:
                raise ScanReplayed
            if outcome.won:
                return decision, False, session_id
        if request.mode is Mode.ENTRY and scan.entry and not scan.context.reentry_allowed:
            # every answer is a refusal (already entered, or no re-entry) that changes no
            # entry: decided from the entry the facts brought, stored with the others
            refused = passage_in(decision, scan.context, scan.entry)
            await self._refuse(scan, refused)
            return refused, False, session_id
        async with connection(self.pool) as conn:
            decision, reentry = await passage.run(conn, decision)
        return decision, reentry, session_id

    async def scan_pass(
        self, device: str, request: ScanRequest, claims: TicketClaims, *, offline: bool = False
    ) -> dict[str, Any]:
        """A pass scan (:mod:`server.door.passes`): books the session if needed, then the door.
        The result also carries ``holder`` ({name, photo}) and ``pass_id``."""
        outcome = await self.passes.scan(device, request, claims, offline=offline)
        if outcome.replay is not None:
            async with connection(self.pool) as conn:
                body = await self._replayed(conn, outcome.replay, request.mode)
        else:
            await self._count_online(
                outcome.scan_id, request, outcome.decision, outcome.ticket_id or 0
            )
            body = result_json(outcome.scan_id, outcome.decision, outcome.ticket)
            body["mode"] = request.mode.value
            if outcome.reentry:
                body["reentry"] = True
        body["holder"] = outcome.holder
        body["pass_id"] = claims.scope_id
        return body

    async def _refuse(self, scan: OnlineScan, decision: Decision) -> int | None:
        """Store a refused online scan (with the other refusals of the moment); returns the
        session it counts for: the ticket's, or for a code that names no session (forged,
        unknown) the scanner's own. ``ScanReplayed`` if its device and nonce came first."""
        request = scan.request
        stored = await self.refusals.record(
            RefusedScan(
                scan.scan_id,
                scan.facts.ticket_id if scan.facts else None,
                decision.session_id if decision.session_id is not None else request.session_id,
                scan.device,
                request.door,
                request.nonce,
                decision.reason.value if decision.reason else "unknown",
                request.scanned_at,
                request.mode.value,
            )
        )
        if not stored.stored:
            raise ScanReplayed
        return stored.session_id

    async def _replayed(self, conn: asyncpg.Connection, replay: Any, sent: Mode) -> dict[str, Any]:
        """The answer of a retry: its stored scan's. A scan of a detached (archived) month
        is known by its nonce only (:mod:`server.door.nonces`): ``unknown``, in the mode the
        retry was sent."""
        scan_id, _result, reason, session_id, ticket_id, mode = replay
        decision = Decision(Reason(reason) if reason else None, session_id)
        ticket = None
        if ticket_id is not None:
            row = await conn.fetchrow(
                "SELECT t.id, t.session_id, t.seat_idx, se.label AS seat, se.row_label AS row,"
                " ta.name AS tariff, e.entered_at, e.door FROM tickets t"
                " JOIN sessions s ON s.id = t.session_id"
                " LEFT JOIN tariffs ta ON ta.id = t.tariff_id"
                " LEFT JOIN seats se ON se.plan_id = s.seat_plan_id AND se.idx = t.seat_idx"
                " LEFT JOIN entries e ON e.session_id = t.session_id AND e.ticket_id = t.id"
                " WHERE t.id = $1",
                ticket_id,
            )
            if row is not None:
                ticket = _ticket_json(row)
                if decision.reason is Reason.ALREADY_ENTERED and row["entered_at"] is not None:
                    decision = Decision(
                        decision.reason, session_id, row["entered_at"].timestamp(), row["door"]
                    )
        return {**result_json(scan_id, decision, ticket, replayed=True), "mode": mode or sent.value}

    async def _count_online(
        self,
        scan_id: int,
        request: ScanRequest,
        decision: Decision,
        ticket_id: int,
        session_id: int | None = None,
    ) -> None:
        session_id = decision.session_id if session_id is None else session_id
        if session_id is None:
            return  # a forged or unknown code, scanned with no session chosen
        door = request.door
        exit_scan = request.mode is Mode.EXIT
        outcome = str(decision.reason)
        if decision.valid:
            outcome = EXITED if exit_scan else ENTERED
        passed = [{"ticket_id": ticket_id, "door": door, "at": _at(datetime.now(UTC).timestamp())}]
        entries = passed if decision.valid and not exit_scan else []
        exits = passed if decision.valid and exit_scan else []
        event = DoorEvent(door, outcome, str(scan_id))
        await self.live.count_soon(Counted(session_id, event, entries, exits))

    # -- offline upload --------------------------------------------------------------------

    async def upload(self, device: str, scans: list[ScanRequest]) -> dict[str, Any]:
        verified = await verify_many([s.code for s in scans], await self.keys.public_keys())
        unknown_key = [p for p, c in enumerate(verified) if _forged(c)]
        if unknown_key and await self.keys.refresh():  # keys rotated on another process?
            again = await verify_many(
                [scans[p].code for p in unknown_key], await self.keys.public_keys()
            )
            for pos, claims in zip(unknown_key, again, strict=True):
                verified[pos] = claims
        batch = BatchUpload(device, scans, verified)
        async with connection(self.pool) as conn, conn.transaction():
            await batch.run(conn)
        # Pass scans book a place (Redis then Postgres): one by one, in scan-time order,
        # after the tickets' set-based transaction (docs/door.md, "Passes").
        for pos in sorted(batch.pass_positions, key=lambda p: (scans[p].scanned_at, p)):
            claims = verified[pos]
            assert isinstance(claims, TicketClaims)
            batch.pass_results[pos] = await self.scan_pass(device, scans[pos], claims, offline=True)
        for session_id, events in batch.events_by_session().items():
            try:
                await self.live.count(
                    session_id,
                    events,
                    batch.passages_json(session_id, Mode.ENTRY),
                    batch.passages_json(session_id, Mode.EXIT),
                )
            except DomainError:
                log.warning("door counters unavailable; they will be rebuilt from postgres")
        return batch.summary()

    # -- codes, refunds, bundle --------------------------------------------------------------

    async def code(self, ticket_id: int, hold_token: str | None, staff: bool) -> dict[str, Any]:
        async with connection(self.pool) as conn:
            row = await conn.fetchrow(
                "SELECT t.id, t.session_id, t.status, t.code_seed, t.seat_idx, se.label AS seat,"
                " se.row_label AS row, ta.name AS tariff, o.hold_token, o.buyer_name,"
                " s.starts_at, s.ends_at, s.event_name, r.name AS room FROM tickets t"
                " JOIN orders o ON o.id = t.order_id"
                " JOIN sessions s ON s.id = t.session_id JOIN rooms r ON r.id = s.room_id"
                " LEFT JOIN tariffs ta ON ta.id = t.tariff_id"
                " LEFT JOIN seats se ON se.plan_id = s.seat_plan_id AND se.idx = t.seat_idx"
                " WHERE t.id = $1",
                ticket_id,
            )
        if row is None or not (staff or (hold_token and hold_token == row["hold_token"])):
            raise NotFound.of("ticket")  # the same answer, so ticket ids cannot be probed
        if row["status"] != "active":
            raise Conflict("ticket_not_active", f"the ticket is {row['status']}")
        code = await ticket_code(
            self.keys,
            row["id"],
            row["session_id"],
            row["starts_at"],
            row["ends_at"],
            bytes(row["code_seed"]),
        )
        return {
            "code": code,
            "ticket": _ticket_json(row),
            "event_name": row["event_name"],
            "room": row["room"],
            "holder": row["buyer_name"],
            "starts_at": row["starts_at"].isoformat(),
        }

    async def refund(
        self, ticket_id: int, sold_by: int | None = None, actor: Actor = SYSTEM
    ) -> dict[str, Any]:
        """Refund a ticket; with ``sold_by``, only one of an order that user booked."""
        refunded = await self.refund_tickets([ticket_id], sold_by, actor, self.refund_guard)
        if self.after_refund is not None:
            try:
                await self.after_refund()
            except (DomainError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                # the refund is committed and its answer must say so; what is left to do
                # after it is every process's worker's
                log.exception("after the refund of ticket %s", ticket_id)
        return refunded[0]

    async def refund_tickets(
        self,
        ticket_ids: list[int],
        sold_by: int | None = None,
        actor: Actor = SYSTEM,
        within: RefundHook | None = None,
    ) -> list[dict[str, Any]]:
        """Refund tickets together (all or none): each code is revoked and each seat freed
        live. ``within`` runs in the same transaction once the tickets are refunded (the
        cash desk journals the refund there; raising rolls everything back)."""
        rows: list[asyncpg.Record] = []
        entries: list[tuple[int, int, dict[str, Any]]] = []
        async with connection(self.pool) as conn, conn.transaction():
            for ticket_id in sorted(set(ticket_ids)):  # one lock order for every caller
                row = await conn.fetchrow(
                    "UPDATE tickets t SET status = 'refunded' FROM orders o"
                    " WHERE t.id = $1 AND t.status = 'active' AND o.id = t.order_id"
                    " AND ($2::bigint IS NULL OR o.created_by = $2)"
                    " RETURNING t.id, t.session_id, t.seat_idx, t.code_seed, t.order_id,"
                    " EXISTS (SELECT 1 FROM blocked_seats b WHERE b.session_id = t.session_id"
                    " AND b.seat_idx = t.seat_idx) AS blocked",
                    ticket_id,
                    sold_by,
                )
                if row is None:
                    await _refund_refused(conn, ticket_id, sold_by)
                await conn.execute(
                    "INSERT INTO revocations (ticket_id, seed, reason) VALUES ($1, $2, 'refunded')"
                    " ON CONFLICT DO NOTHING",
                    ticket_id,
                    row["code_seed"],
                )
                seat = row["seat_idx"]
                args = {"seats": [] if seat is None else [seat], "places": int(seat is None)}
                if row["blocked"]:  # sold by overbooking: blocked again once refunded
                    args["blocked"] = [seat]
                entry = await record(conn, row["session_id"], Op.UNSELL, args)
                entries.append((entry, row["session_id"], args))
                await audit.record(conn, actor, "ticket.refund", f"ticket:{ticket_id}")
                rows.append(row)
            if within is not None:
                await within(conn, rows)
        await failpoint("door.refund_after_commit")
        refunded = []
        for (entry, session_id, args), row in zip(entries, rows, strict=True):
            await self.outbox.apply_now(entry, session_id, Op.UNSELL, args)
            code_ref = f"{row['id']}:{bytes(row['code_seed']).hex()}"
            await self.live.publish(session_id, {"revoked": [code_ref]})
            refunded.append({"id": row["id"], "status": "refunded", "revoked": code_ref})
        return refunded

    async def bundle(self, session_id: int) -> dict[str, Any]:
        """What an offline scanner needs for a session: keys, revoked codes, entered tickets."""
        public_keys = await self.keys.public_keys()
        async with connection(self.pool) as conn:
            session = await conn.fetchrow(
                "SELECT id, room_id, starts_at, ends_at, reentry_allowed FROM sessions"
                " WHERE id = $1",
                session_id,
            )
            if session is None:
                raise NotFound.of("session")
            revoked = await conn.fetch(
                "SELECT r.ticket_id, r.seed FROM revocations r"
                " JOIN tickets t ON t.id = r.ticket_id WHERE t.session_id = $1",
                session_id,
            )
            entered = await conn.fetch(
                "SELECT ticket_id, door, entered_at, inside FROM entries WHERE session_id = $1",
                session_id,
            )
            passes = await bundle_passes(conn, session_id)
        return {
            "session": {
                "id": session["id"],
                "room_id": session["room_id"],
                "starts_at": session["starts_at"].isoformat(),
                "ends_at": session["ends_at"].isoformat(),
                "reentry_allowed": session["reentry_allowed"],
            },
            "public_keys": {str(k): v.hex() for k, v in public_keys.items()},
            "revoked": [f"{r['ticket_id']}:{bytes(r['seed']).hex()}" for r in revoked],
            "entered": [
                {
                    "ticket_id": r["ticket_id"],
                    "door": r["door"],
                    "at": _iso(r["entered_at"]),
                    "inside": r["inside"],
                }
                for r in entered
            ],
            "passes": passes,
        }

    async def settings(
        self, session_id: int, reentry_allowed: bool | None, actor: Actor = SYSTEM
    ) -> dict[str, Any]:
        """The session's door settings; changes ``reentry_allowed`` when given."""
        async with connection(self.pool) as conn, conn.transaction():
            row = await conn.fetchrow(
                "UPDATE sessions SET reentry_allowed = coalesce($2, reentry_allowed)"
                " WHERE id = $1 RETURNING id, reentry_allowed",
                session_id,
                reentry_allowed,
            )
            if row is None:
                raise NotFound.of("session")
            if reentry_allowed is not None:
                await audit.record(
                    conn,
                    actor,
                    "door.settings",
                    f"session:{session_id}",
                    reentry_allowed=reentry_allowed,
                )
        return {"session_id": row["id"], "reentry_allowed": row["reentry_allowed"]}

    async def conflicts(self, session_id: int | None, page: Page) -> list[dict[str, Any]]:
        async with connection(self.pool) as conn:
            rows = await conn.fetch(
                "SELECT c.id, c.session_id, c.ticket_id, c.detected_at,"
                " k.id AS k_id, k.device AS k_device, k.door AS k_door,"
                " k.scanned_at AS k_at, k.offline AS k_offline,"
                " o.id AS o_id, o.device AS o_device, o.door AS o_door,"
                " o.scanned_at AS o_at, o.offline AS o_offline"
                " FROM door_conflicts c JOIN scans k ON k.id = c.kept_scan_id"
                " JOIN scans o ON o.id = c.other_scan_id"
                " WHERE $1::bigint IS NULL OR c.session_id = $1 ORDER BY c.id" + page.sql(),
                session_id,
            )

        def scan(r: asyncpg.Record, p: str) -> dict[str, Any]:
            return {
                "scan_id": r[f"{p}_id"],
                "device": r[f"{p}_device"],
                "door": r[f"{p}_door"],
                "scanned_at": _iso(r[f"{p}_at"]),
                "offline": r[f"{p}_offline"],
            }

        return [
            {
                "id": r["id"],
                "session_id": r["session_id"],
                "ticket_id": r["ticket_id"],
                "detected_at": _iso(r["detected_at"]),
                "kept": scan(r, "k"),
                "other": scan(r, "o"),
            }
            for r in rows
        ]


async def _refund_refused(conn: asyncpg.Connection, ticket_id: int, sold_by: int | None) -> None:
    """Why a ticket was not refunded: unknown, sold by someone else, or not active."""
    row = await conn.fetchrow(
        "SELECT t.status, o.created_by FROM tickets t JOIN orders o ON o.id = t.order_id"
        " WHERE t.id = $1",
        ticket_id,
    )
    if row is None:
        raise NotFound.of("ticket")
    if sold_by is not None and row["created_by"] != sold_by:
        raise Forbidden(
            "not_own_sale", "you may refund only the sales you booked", needs=["refund.any"]
        )
    raise Conflict("ticket_not_active", f"the ticket is already {row['status']}")


def _ticket_json(row: asyncpg.Record) -> dict[str, Any] | None:
    if row["id"] is None:
        return None
    return {
        "id": row["id"],
        "session_id": row["session_id"],
        "seat_idx": row["seat_idx"],
        "row": row["row"],
        "seat": row["seat"],
        "tariff": row["tariff"],
    }
