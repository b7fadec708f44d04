"""Uploading a batch of offline scans: idempotent, first scan wins *by scan time*.

One transaction, a handful of set-based statements whatever the batch size (``unnest``):

1. lock the device (two uploads of one device are serialised) and find the nonces already
   stored: those scans are replayed, never counted twice;
2. fetch the facts of every ticket named, and decide each scan without the entry state;
3. for each (session, ticket), the earliest admissible scan of the batch tries to insert
   the entry; where an entry exists already, the earlier scan time wins: an uploaded scan
   earlier than the recorded entry takes it over; every other scan is ``already_entered``;
4. whenever two admissions of one ticket reached the door (an entry taken over, or an
   offline scan admitted at a device that could not know of another device's entry), a
   conflict lists both scans for the organiser. Every scan is stored.

Exits and re-entries: a (session, ticket) with an exit scan in the batch, or of a session
that allows re-entry, is *sequenced* instead (see below): its entry
row is locked and the batch's scans of it are applied in scan-time order after what is
recorded, each one judged by the pure rules (``already_entered``, ``no_reentry``,
``not_inside``). An entry scan of a ticket that went out, in a session without re-entry,
is ``no_reentry``.

Pass scans are not decided here: they book a place (Redis, then Postgres), so the caller
(:meth:`server.door.service.DoorService.upload`) runs them one by one after this transaction, in
scan-time order, and fills :attr:`BatchUpload.pass_results`.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from scanning.codes import CodeError, TicketClaims, TicketScope
from scanning.decision import (
    Decision,
    Entry,
    Mode,
    Reason,
    ScannerContext,
    TicketFacts,
    passage,
    precheck,
)
from server.door.counters import ENTERED, EXITED, DoorEvent, moved_from

Key = tuple[int, int]  # (session id, ticket id)


@dataclass(slots=True)
class _Entry:
    scan_id: int
    device: str
    door: str
    at: datetime
    inside: bool = True


class BatchUpload:
    def __init__(self, device: str, scans: list[Any], verified: list[TicketClaims | CodeError]):
        self.device = device
        self.scans = scans
        self.verified = verified
        self.replays: dict[int, asyncpg.Record] = {}  # position -> stored scan
        self.decisions: dict[int, Decision] = {}  # position -> decision (new scans)
        self.scan_ids: dict[int, int] = {}
        self.new_entries: set[int] = set()  # positions whose scan created an entry
        self.takeovers: set[int] = set()  # positions whose scan took an entry over
        self.takeover_from: dict[int, str] = {}  # those positions -> the entry's door before
        self.conflicts: list[tuple[int, int, int, int]] = []  # session, ticket, kept, other
        self.passed: set[int] = set()  # positions of sequenced scans that passed the door
        self.reentries: set[int] = set()  # positions of those that came back in
        self.reentry_allowed: dict[int, bool] = {}  # session id -> its setting
        # new pass scans: left to the caller (they book a place), results filled in by it
        # positions of unreadable codes (no session of their own) -> the scanner's session
        self.counted_in: dict[int, int] = {}
        self.pass_positions: list[int] = []
        self.pass_results: dict[int, dict[str, Any]] = {}

    async def run(self, conn: asyncpg.Connection) -> None:
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", "door:" + self.device)
        fresh = await self._split_replays(conn)
        self.pass_positions = [p for p in fresh if _is_pass(self.verified[p])]
        fresh = [p for p in fresh if not _is_pass(self.verified[p])]
        facts = await self._facts(conn, fresh)
        ids = await conn.fetch(
            "SELECT nextval('scans_id_seq') AS id FROM generate_series(1, $1)", len(fresh)
        )
        candidates: dict[Key, list[int]] = defaultdict(list)
        arrival = time.time()
        for pos, row in zip(fresh, ids, strict=True):
            self.scan_ids[pos] = row["id"]
            claims, scan = self.verified[pos], self.scans[pos]
            ticket = facts.get(claims.ticket_id) if isinstance(claims, TicketClaims) else None
            context = ScannerContext(
                # judged when it was scanned, or at its arrival if the device's clock says
                # later (a clock running ahead must not open a validity window early)
                now=min(scan.scanned_at.timestamp(), arrival),
                session_id=scan.session_id,
                room_id=scan.room_id,
                mode=scan.mode,
            )
            decision = precheck(claims, ticket, context)
            self.decisions[pos] = decision
            if decision.valid and isinstance(claims, TicketClaims):
                assert decision.session_id is not None
                candidates[(decision.session_id, claims.ticket_id)].append(pos)
        for positions in candidates.values():
            positions.sort(key=lambda p: (self.scans[p].scanned_at, p))
        sequenced = {
            key: positions
            for key, positions in candidates.items()
            if self.reentry_allowed.get(key[0])
            or any(self.scans[p].mode is Mode.EXIT for p in positions)
        }
        await self._first_scan_wins(
            conn, {k: v for k, v in candidates.items() if k not in sequenced}
        )
        await sequence_passages(conn, self, sequenced)
        await self._count_unreadable_in_scanner_sessions(conn, fresh)
        await self._store(conn, fresh)

    async def _count_unreadable_in_scanner_sessions(
        self, conn: asyncpg.Connection, fresh: list[int]
    ) -> None:
        """A code that names no session (forged, unknown) counts as a refusal of the session
        the scanner was checking, as online, when that session exists."""
        wanted = {
            p: self.scans[p].session_id
            for p in fresh
            if self.decisions[p].session_id is None and self.scans[p].session_id is not None
        }
        if not wanted:
            return
        known = {
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM sessions WHERE id = ANY($1::bigint[])", list(set(wanted.values()))
            )
        }
        self.counted_in = {p: s for p, s in wanted.items() if s in known}

    def session_of(self, pos: int) -> int | None:
        """The session a scan counts for."""
        session_id = self.decisions[pos].session_id
        return session_id if session_id is not None else self.counted_in.get(pos)

    async def _split_replays(self, conn: asyncpg.Connection) -> list[int]:
        stored = {
            r["nonce"]: r
            for r in await conn.fetch(
                # a nonce whose scan lies in a detached month: refused `unknown` (nonces.py)
                "SELECT n.scan_id AS id, n.nonce, coalesce(s.result, 'refused') AS result,"
                " CASE WHEN s.id IS NULL THEN 'unknown' ELSE s.reason END AS reason"
                " FROM scan_nonces n LEFT JOIN scans s"
                " ON s.id = n.scan_id AND s.received_at = n.received_at"
                " WHERE n.device = $1 AND n.nonce = ANY($2::text[])",
                self.device,
                [s.nonce for s in self.scans],
            )
        }
        fresh: list[int] = []
        first_of_nonce: dict[str, int] = {}
        for pos, scan in enumerate(self.scans):
            if scan.nonce in stored:
                self.replays[pos] = stored[scan.nonce]
            elif scan.nonce in first_of_nonce:
                continue  # the same nonce twice in one batch: answered like the first
            else:
                first_of_nonce[scan.nonce] = pos
                fresh.append(pos)
        self._first_of_nonce = first_of_nonce
        return fresh

    async def _facts(self, conn: asyncpg.Connection, fresh: list[int]) -> dict[int, TicketFacts]:
        ticket_ids = sorted(
            {
                c.ticket_id
                for c in (self.verified[p] for p in fresh)
                if isinstance(c, TicketClaims) and c.scope is TicketScope.SESSION
            }
        )
        rows = await conn.fetch(
            "SELECT t.id, t.session_id, s.room_id, t.status, t.code_seed, s.reentry_allowed"
            " FROM tickets t"
            " JOIN sessions s ON s.id = t.session_id WHERE t.id = ANY($1::bigint[])",
            ticket_ids,
        )
        revoked = {
            (r["ticket_id"], bytes(r["seed"]))
            for r in await conn.fetch(
                "SELECT ticket_id, seed FROM revocations WHERE ticket_id = ANY($1::bigint[])",
                ticket_ids,
            )
        }
        facts: dict[int, TicketFacts] = {}
        for r in rows:
            self.reentry_allowed[r["session_id"]] = r["reentry_allowed"]
            seed = bytes(r["code_seed"])
            facts[r["id"]] = TicketFacts(
                ticket_id=r["id"],
                session_id=r["session_id"],
                room_id=r["room_id"],
                status=r["status"],
                current_seed=seed,
                # an older code fails the seed check; the current one may be listed
                revoked=(r["id"], seed) in revoked,
            )
        return facts

    async def insert_entries(self, conn: asyncpg.Connection, firsts: dict[Key, int]) -> set[Key]:
        """First entries for the tickets of ``firsts`` (ticket -> position of its earliest
        scan here), dated by those scans; returns the tickets whose entry this batch won."""
        keys = sorted(firsts)  # one lock order for every transaction
        rows = await conn.fetch(
            "INSERT INTO entries (session_id, ticket_id, scan_id, device, door, entered_at)"
            " SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[],"
            " $5::text[], $6::timestamptz[]) ON CONFLICT DO NOTHING"
            " RETURNING session_id, ticket_id",
            [k[0] for k in keys],
            [k[1] for k in keys],
            [self.scan_ids[firsts[k]] for k in keys],
            [self.device] * len(keys),
            [self.scans[firsts[k]].door for k in keys],
            [self.scans[firsts[k]].scanned_at for k in keys],
        )
        return {(r["session_id"], r["ticket_id"]) for r in rows}

    async def _first_scan_wins(
        self, conn: asyncpg.Connection, candidates: dict[Key, list[int]]
    ) -> None:
        keys = sorted(candidates)
        won = await self.insert_entries(conn, {k: candidates[k][0] for k in keys})
        contested = [k for k in keys if k not in won]
        existing = {
            (r["session_id"], r["ticket_id"]): _Entry(
                r["scan_id"], r["device"], r["door"], r["entered_at"], r["inside"]
            )
            for r in await conn.fetch(
                "SELECT e.* FROM entries e JOIN unnest($1::bigint[], $2::bigint[]) AS k(s, t)"
                " ON e.session_id = k.s AND e.ticket_id = k.t"
                " ORDER BY e.session_id, e.ticket_id FOR UPDATE OF e",
                [k[0] for k in contested],
                [k[1] for k in contested],
            )
        }
        for key in keys:
            first = candidates[key][0]
            scan = self.scans[first]
            winner = _Entry(self.scan_ids[first], self.device, scan.door, scan.scanned_at)
            if key in won:
                self.new_entries.add(first)
            else:
                entry = existing[key]
                if scan.scanned_at < entry.at:
                    self.takeovers.add(first)
                    self.takeover_from[first] = entry.door
                    self.conflicts.append((*key, winner.scan_id, entry.scan_id))
                else:
                    if entry.device != self.device:
                        self.conflicts.append((*key, entry.scan_id, winner.scan_id))
                    winner = entry
                    self._already_entered(first, winner)
            for later in candidates[key][1:]:
                self._already_entered(later, winner)
        await self._take_over(conn, sorted(self.takeovers))

    def _already_entered(self, pos: int, entry: _Entry) -> None:
        session_id = self.decisions[pos].session_id
        reason = Reason.ALREADY_ENTERED if entry.inside else Reason.NO_REENTRY
        self.decisions[pos] = Decision(reason, session_id, entry.at.timestamp(), entry.door)

    async def _take_over(self, conn: asyncpg.Connection, positions: list[int]) -> None:
        if not positions:
            return
        claims = [self.verified[p] for p in positions]
        await conn.execute(
            "UPDATE entries e SET scan_id = u.scan_id, device = $4, door = u.door,"
            " entered_at = u.at FROM unnest($1::bigint[], $2::bigint[], $3::bigint[],"
            " $5::text[], $6::timestamptz[]) AS u(session_id, ticket_id, scan_id, door, at)"
            " WHERE e.session_id = u.session_id AND e.ticket_id = u.ticket_id",
            [self.decisions[p].session_id for p in positions],
            [c.ticket_id for c in claims if isinstance(c, TicketClaims)],
            [self.scan_ids[p] for p in positions],
            self.device,
            [self.scans[p].door for p in positions],
            [self.scans[p].scanned_at for p in positions],
        )

    async def _store(self, conn: asyncpg.Connection, fresh: list[int]) -> None:
        def ticket_of(pos: int) -> int | None:
            claims = self.verified[pos]
            if isinstance(claims, TicketClaims) and self.decisions[pos].session_id is not None:
                return claims.ticket_id
            return None

        decisions = [self.decisions[p] for p in fresh]
        await conn.execute(
            "WITH input AS (SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[],"
            " $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[],"
            " $10::text[], $11::bool[]) AS i(id, ticket_id, session_id, device, door, nonce,"
            " result, reason, scanned_at, mode, reentry)),"
            # the nonces were checked under the device's lock: no ON CONFLICT (nonces.py)
            " claimed AS (INSERT INTO scan_nonces (device, nonce, scan_id)"
            " SELECT device, nonce, id FROM input RETURNING scan_id, received_at)"
            " INSERT INTO scans (id, ticket_id, session_id, device, door, nonce, result, reason,"
            " scanned_at, mode, reentry, offline, received_at) SELECT i.*, true, c.received_at"
            " FROM input i JOIN claimed c ON c.scan_id = i.id",
            [self.scan_ids[p] for p in fresh],
            [ticket_of(p) for p in fresh],
            [self.session_of(p) for p in fresh],
            [self.device] * len(fresh),
            [self.scans[p].door for p in fresh],
            [self.scans[p].nonce for p in fresh],
            [d.result for d in decisions],
            [d.reason.value if d.reason else None for d in decisions],
            [self.scans[p].scanned_at for p in fresh],
            [self.scans[p].mode.value for p in fresh],
            [p in self.reentries for p in fresh],
        )
        if self.conflicts:
            await conn.execute(
                "INSERT INTO door_conflicts (session_id, ticket_id, kept_scan_id, other_scan_id)"
                " SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[])"
                " ON CONFLICT DO NOTHING",
                *(list(col) for col in zip(*self.conflicts, strict=True)),
            )

    # -- after commit ----------------------------------------------------------------------

    def events_by_session(self) -> dict[int, list[DoorEvent]]:
        events: dict[int, list[DoorEvent]] = defaultdict(list)
        for pos, decision in self.decisions.items():
            session_id = self.session_of(pos)
            if session_id is None:
                continue
            if pos in self.takeovers:  # counted online at another door: move it here
                outcome = moved_from(self.takeover_from[pos])
            elif decision.valid and pos not in self.new_entries | self.passed:
                continue
            elif decision.valid:
                outcome = EXITED if self.scans[pos].mode is Mode.EXIT else ENTERED
            else:
                outcome = str(decision.reason)
            events[session_id].append(
                DoorEvent(self.scans[pos].door, outcome, str(self.scan_ids[pos]))
            )
        return events

    def passages_json(self, session_id: int, mode: Mode) -> list[dict[str, Any]]:
        """The entries (or exits) this upload made, for the scanners' lists of who is in."""
        out = []
        for pos in sorted(self.new_entries | self.takeovers | self.passed):
            claims = self.verified[pos]
            scan = self.scans[pos]
            if scan.mode is not mode or not self.decisions[pos].valid:
                continue
            if self.decisions[pos].session_id == session_id and isinstance(claims, TicketClaims):
                out.append(
                    {
                        "ticket_id": claims.ticket_id,
                        "door": scan.door,
                        "at": scan.scanned_at.isoformat(),
                    }
                )
        return out

    def summary(self) -> dict[str, Any]:
        results: list[dict[str, Any]] = []
        for pos, scan in enumerate(self.scans):
            if pos in self.replays:
                r = self.replays[pos]
                results.append(_result(scan.nonce, r["id"], r["result"], r["reason"], True))
                continue
            first = self._first_of_nonce[scan.nonce]
            if first in self.pass_results:
                done = self.pass_results[first]
                results.append(
                    _result(
                        scan.nonce,
                        done["scan_id"],
                        done["result"],
                        done["reason"],
                        pos != first or done["replayed"],
                    )
                )
                continue
            d = self.decisions[first]
            reason = d.reason.value if d.reason else None
            results.append(
                _result(scan.nonce, self.scan_ids[first], d.result, reason, pos != first)
            )
        passes = [r for r in self.pass_results.values() if not r["replayed"]]
        accepted = len(self.decisions) + len(passes)
        return {
            "accepted": accepted,
            "replayed": len(self.scans) - accepted,
            "valid": sum(d.valid for d in self.decisions.values())
            + sum(r["result"] == "valid" for r in passes),
            "conflicts": len(self.conflicts),
            "results": results,
        }


def _is_pass(claims: TicketClaims | CodeError) -> bool:
    return isinstance(claims, TicketClaims) and claims.scope is TicketScope.PASS


def _result(
    nonce: str, scan_id: int, result: str, reason: str | None, replayed: bool
) -> dict[str, Any]:
    return {
        "nonce": nonce,
        "scan_id": scan_id,
        "result": result,
        "reason": reason,
        "replayed": replayed,
    }


# -- exits and re-entries ------------------------------------------------------------------
# Exits and re-entries in an offline upload: the *sequenced* (session, ticket) pairs.
#
# A pair is sequenced when the batch has an exit scan of it, or its session allows re-entry.
# Its entry row is locked (``FOR UPDATE``, in one lock order) and the batch's scans of it
# are applied in scan-time order after what is recorded, each judged by the pure rules
# (:func:`scanning.decision.passage`). The first entry of a pair with no entry yet is made
# by ``INSERT ... ON CONFLICT DO NOTHING`` like any upload; an entry scan refused because the
# ticket is inside per another device's entry lists a conflict, as for plain entries.


@dataclass(slots=True)
class _State:
    """A ticket's entry row while the batch is applied to it."""

    scan_id: int
    device: str
    door: str
    at: datetime
    inside: bool
    back: int = 0  # re-entries made by this batch
    out: int = 0  # exits made by this batch
    last_exit_at: datetime | None = None
    last_exit_door: str | None = None
    recorded: bool = True  # the row existed before this batch

    def entry(self) -> Entry:
        return Entry(self.at.timestamp(), self.door, self.inside)


async def sequence_passages(
    conn: asyncpg.Connection, batch: BatchUpload, sequenced: dict[Key, list[int]]
) -> None:
    if not sequenced:
        return
    keys = sorted(sequenced)  # one lock order for every transaction
    first_in = {
        key: next(p for p in sequenced[key] if batch.scans[p].mode is Mode.ENTRY)
        for key in keys
        if any(batch.scans[p].mode is Mode.ENTRY for p in sequenced[key])
    }
    won = await batch.insert_entries(conn, first_in)
    rows = {
        (r["session_id"], r["ticket_id"]): r
        for r in await conn.fetch(
            "SELECT e.* FROM entries e JOIN unnest($1::bigint[], $2::bigint[]) AS k(s, t)"
            " ON e.session_id = k.s AND e.ticket_id = k.t"
            " ORDER BY e.session_id, e.ticket_id FOR UPDATE OF e",
            [k[0] for k in keys],
            [k[1] for k in keys],
        )
    }
    states: dict[Key, _State] = {}
    for key in keys:
        row = rows.get(key)
        state = None
        if row is not None and key not in won:
            state = _State(
                row["scan_id"], row["device"], row["door"], row["entered_at"], row["inside"]
            )
        for pos in sequenced[key]:
            if key in won and pos == first_in[key]:
                scan = batch.scans[pos]
                state = _State(batch.scan_ids[pos], batch.device, scan.door, scan.scanned_at, True)
                state.recorded = False
                batch.new_entries.add(pos)
                continue
            _apply(batch, key, pos, state)
        if state is not None:
            states[key] = state
    await _write_back(conn, states)


def _apply(batch: BatchUpload, key: Key, pos: int, state: _State | None) -> None:
    scan = batch.scans[pos]
    context = ScannerContext(
        now=scan.scanned_at.timestamp(),
        mode=scan.mode,
        reentry_allowed=batch.reentry_allowed.get(key[0], False),
    )
    decision: Decision = passage(batch.decisions[pos], context, state.entry() if state else None)
    batch.decisions[pos] = decision
    if not decision.valid:
        # refused as inside per an entry another device recorded: that device could not
        # know, and may have let someone in too
        if (
            scan.mode is Mode.ENTRY
            and state is not None
            and state.recorded
            and not (state.back or state.out)
            and state.inside
            and state.device != batch.device
        ):
            batch.conflicts.append((*key, state.scan_id, batch.scan_ids[pos]))
        return
    assert state is not None  # a valid passage has an entry: in from outside, or out
    batch.passed.add(pos)
    if scan.mode is Mode.EXIT:
        state.inside, state.out = False, state.out + 1
        state.last_exit_at, state.last_exit_door = scan.scanned_at, scan.door
    else:
        state.inside, state.back = True, state.back + 1
        batch.reentries.add(pos)


async def _write_back(conn: asyncpg.Connection, states: dict[Key, _State]) -> None:
    changed = sorted(k for k, s in states.items() if s.back or s.out)
    if not changed:
        return
    rows = [states[k] for k in changed]
    await conn.execute(
        "UPDATE entries e SET inside = u.inside, reentries = e.reentries + u.back,"
        " exits = e.exits + u.out, last_exit_at = coalesce(u.exit_at, e.last_exit_at),"
        " last_exit_door = coalesce(u.exit_door, e.last_exit_door)"
        " FROM unnest($1::bigint[], $2::bigint[], $3::bool[], $4::int[], $5::int[],"
        " $6::timestamptz[], $7::text[]) AS u(session_id, ticket_id, inside, back, out,"
        " exit_at, exit_door)"
        " WHERE e.session_id = u.session_id AND e.ticket_id = u.ticket_id",
        [k[0] for k in changed],
        [k[1] for k in changed],
        [s.inside for s in rows],
        [s.back for s in rows],
        [s.out for s in rows],
        [s.last_exit_at for s in rows],
        [s.last_exit_door for s in rows],
    )
