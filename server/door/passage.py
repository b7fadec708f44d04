"""One online passage through a door: an entry (first scan wins, re-entry) or an exit.

Postgres decides, on the ticket's ``entries`` row, in the transaction that stores the scan:

* a first entry is ``INSERT ... ON CONFLICT DO NOTHING RETURNING``: exactly one scan wins;
* once the row exists, an entry scan reads it and the pure rules
  (:func:`scanning.decision.passage_in`) answer ``already_entered`` (inside) or
  ``no_reentry`` (went out, the session does not allow coming back). When the session
  allows re-entry the row is read ``FOR UPDATE``: concurrent scans of a ticket that went
  out queue on it, and only the first finds it outside;
* an exit is ``UPDATE ... WHERE inside RETURNING``: exactly one exit per time inside,
  otherwise ``not_inside``.

The two common cases take few round trips: a first entry is one statement that inserts the
entry and its valid scan together; a second scan where re-entry is not allowed reads the
entry and records the refusal without a transaction (nothing it decides changes an entry).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from scanning.decision import Decision, Entry, Mode, Reason, ScannerContext, passage_in
from server.door.requests import ScanRequest

INSERT_SCAN = """
WITH claimed AS (
  INSERT INTO scan_nonces (device, nonce, scan_id) VALUES ($4, $6, $1)
  ON CONFLICT DO NOTHING RETURNING received_at
)
INSERT INTO scans (id, ticket_id, session_id, device, door, nonce, result, reason,
                   scanned_at, offline, mode, reentry, pass_id, received_at)
SELECT $1, $2, (SELECT id FROM sessions WHERE id = $3), $4, $5, $6, $7, $8, $9,
       coalesce($12::bool, false), $10, $11, $13, c.received_at
FROM claimed c
RETURNING id, session_id
"""
"""Arguments: id, ticket, session, device, door, nonce, result, reason, scanned_at, mode,
reentry, offline (null: false), pass id (null for a ticket). A session that does not exist
(a scanner's claim for a forged code) is stored as none. Nothing is stored (no row) when
the device and nonce were recorded first (:mod:`server.door.nonces`)."""

_FIRST_ENTRY = """
INSERT INTO entries (session_id, ticket_id, scan_id, device, door, entered_at)
VALUES ($1, $2, $3, $4, $5, coalesce($6::timestamptz, now()))
ON CONFLICT DO NOTHING RETURNING true
"""

_ENTRY = """
SELECT entered_at, door, inside FROM entries WHERE session_id = $1 AND ticket_id = $2
"""

_BACK_IN = """
UPDATE entries SET inside = true, reentries = reentries + 1
WHERE session_id = $1 AND ticket_id = $2 AND NOT inside RETURNING true
"""

_OUT = """
UPDATE entries SET inside = false, exits = exits + 1,
       last_exit_at = coalesce($4::timestamptz, now()), last_exit_door = $3
WHERE session_id = $1 AND ticket_id = $2 AND inside RETURNING true
"""


# The common case in one statement (its own transaction, one round trip): a first entry and
# its valid scan together. When the ticket already has an entry nothing is written and the
# passage takes the general path below.
_FIRST_ENTRY_WITH_SCAN = """
WITH won AS (
  INSERT INTO entries (session_id, ticket_id, scan_id, device, door, entered_at)
  VALUES ($3, $2, $1, $4, $5, now())
  ON CONFLICT DO NOTHING RETURNING scan_id
), claimed AS (
  INSERT INTO scan_nonces (device, nonce, scan_id) SELECT $4, $6, $1 FROM won
  ON CONFLICT DO NOTHING RETURNING received_at
), scan AS (
  INSERT INTO scans (id, ticket_id, session_id, device, door, nonce, result, reason,
                     scanned_at, offline, mode, reentry, pass_id, received_at)
  SELECT $1, $2, $3, $4, $5, $6, 'valid', NULL, $7, false, 'entry', false, NULL,
         c.received_at FROM claimed c
  RETURNING id
)
SELECT (SELECT count(*) FROM won) AS won, (SELECT count(*) FROM scan) AS recorded
"""

_UNDO_ENTRY = "DELETE FROM entries WHERE session_id = $1 AND ticket_id = $2 AND scan_id = $3"


class ScanReplayed(Exception):
    """A concurrent request with the same (device, nonce) recorded its scan first."""


@dataclass(frozen=True, slots=True)
class Passage:
    """A scan that passed every check but the passage itself (:func:`precheck`)."""

    scan_id: int
    device: str
    request: ScanRequest
    ticket_id: int
    context: ScannerContext
    pass_id: int | None = None
    """The pass whose booking ``ticket_id`` is (a pass scan)."""
    at: datetime | None = None
    """When the passage happened (an uploaded offline scan); None: now."""

    async def run(self, conn: asyncpg.Connection, decision: Decision) -> tuple[Decision, bool]:
        """Records the passage and the scan in one transaction. Returns the final decision
        and whether it let a ticket that had gone out back in."""
        assert decision.session_id is not None
        session_id = decision.session_id
        if self.request.mode is Mode.ENTRY and self.at is None and self.pass_id is None:
            row = await conn.fetchrow(
                _FIRST_ENTRY_WITH_SCAN,
                self.scan_id,
                self.ticket_id,
                session_id,
                self.device,
                self.request.door,
                self.request.nonce,
                self.request.scanned_at,
            )
            if row["won"] and row["recorded"]:
                return decision, False
            if row["won"]:  # the same (device, nonce) was recorded meanwhile: not ours
                await conn.execute(_UNDO_ENTRY, session_id, self.ticket_id, self.scan_id)
                raise ScanReplayed
            if not self.context.reentry_allowed:
                return await self._refuse_again(conn, decision, session_id), False
        reentry = False
        async with conn.transaction():
            if self.request.mode is Mode.EXIT:
                out = await conn.fetchval(
                    _OUT, session_id, self.ticket_id, self.request.door, self.at
                )
                if not out:
                    decision = Decision(Reason.NOT_INSIDE, session_id)
            else:
                decision, reentry = await self._enter(conn, decision, session_id)
            # ScanReplayed here rolls back the passage this request may have made
            await self._store_scan(conn, session_id, decision, reentry)
        return decision, reentry

    async def _refuse_again(
        self, conn: asyncpg.Connection, decision: Decision, session_id: int
    ) -> Decision:
        """A ticket that already has an entry, where re-entry is not allowed: every answer is
        a refusal (``already_entered`` or ``no_reentry``) that changes no entry, so no
        transaction is needed: read the entry, record the refused scan."""
        row = await conn.fetchrow(_ENTRY, session_id, self.ticket_id)
        entry = Entry(row["entered_at"].timestamp(), row["door"], row["inside"])
        decision = passage_in(decision, self.context, entry)
        await self._store_scan(conn, session_id, decision, reentry=False)
        return decision

    async def _store_scan(
        self, conn: asyncpg.Connection, session_id: int, decision: Decision, reentry: bool
    ) -> None:
        """Record this scan; ``ScanReplayed`` if its (device, nonce) was recorded first."""
        inserted = await conn.fetchval(
            INSERT_SCAN,
            self.scan_id,
            self.ticket_id,
            session_id,
            self.device,
            self.request.door,
            self.request.nonce,
            decision.result,
            decision.reason.value if decision.reason else None,
            self.request.scanned_at,
            self.request.mode.value,
            reentry,
            self.at is not None,
            self.pass_id,
        )
        if inserted is None:
            raise ScanReplayed

    async def _enter(
        self, conn: asyncpg.Connection, decision: Decision, session_id: int
    ) -> tuple[Decision, bool]:
        won = await conn.fetchval(
            _FIRST_ENTRY,
            session_id,
            self.ticket_id,
            self.scan_id,
            self.device,
            self.request.door,
            self.at,
        )
        if won:
            return decision, False
        # Without re-entry every answer is a refusal: no lock is needed to choose which.
        query = _ENTRY + (" FOR UPDATE" if self.context.reentry_allowed else "")
        row = await conn.fetchrow(query, session_id, self.ticket_id)
        entry = Entry(row["entered_at"].timestamp(), row["door"], row["inside"])
        decision = passage_in(decision, self.context, entry)
        if not decision.valid:
            return decision, False
        if not await conn.fetchval(_BACK_IN, session_id, self.ticket_id):  # locked: never
            return Decision(Reason.ALREADY_ENTERED, session_id, entry.at, entry.door), False
        return decision, True
