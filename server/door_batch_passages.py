"""Exits and re-entries in an offline upload: the *sequenced* (session, ticket) pairs.

A pair is sequenced when the batch has an exit scan of it, or its session allows re-entry.
Its entry row is locked (``FOR UPDATE``, in one lock order) and the batch's scans of it
are applied in scan-time order after what is recorded, each judged by the pure rules
(:func:`scanning.decision.passage`). The first entry of a pair with no entry yet is made
by ``INSERT ... ON CONFLICT DO NOTHING`` like any upload; an entry scan refused because the
ticket is inside per another device's entry lists a conflict, as for plain entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import asyncpg

from scanning.decision import Decision, Entry, Mode, ScannerContext, passage

if TYPE_CHECKING:
    from server.door_batch import BatchUpload

Key = tuple[int, int]  # (session id, ticket id)


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
