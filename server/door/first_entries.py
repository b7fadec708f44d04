"""First entries of concurrent online scans, recorded together: one statement, one commit.

The common scan at a busy door is a ticket's first entry. Alone it costs one statement of
its own transaction (:data:`server.door.passage` ``_FIRST_ENTRY_WITH_SCAN``); under load,
the scans that arrive while one batch is being written go together in the next
(:class:`server.platform.coalesce.Coalescer`): one ``INSERT ... SELECT FROM unnest`` for
their entries, one claiming their nonces (:mod:`server.door.nonces`) and one for their valid
scans, in one statement and one commit.

First scan wins is still decided by the primary key of ``entries``: two scans of one
ticket in one batch, or in two batches of two processes, meet ``ON CONFLICT DO NOTHING``
and exactly one inserts. Each item's answer says whether it won the entry, or whether its
device and nonce were recorded first (a retry: the stored scan answers). A scan that lost
the entry to another takes the general path (:class:`server.door.passage.Passage`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from server.platform.coalesce import Coalescer
from server.platform.db import connection

_BATCH = """
WITH input AS (
  SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[],
                       $6::text[], $7::timestamptz[]) WITH ORDINALITY
    AS i(scan_id, ticket_id, session_id, device, door, nonce, scanned_at, ord)
), won AS (
  INSERT INTO entries (session_id, ticket_id, scan_id, device, door, entered_at)
  SELECT session_id, ticket_id, scan_id, device, door, now() FROM input ORDER BY ord
  ON CONFLICT DO NOTHING RETURNING scan_id
), claimed AS (
  INSERT INTO scan_nonces (device, nonce, scan_id)
  SELECT i.device, i.nonce, i.scan_id FROM input i JOIN won w ON w.scan_id = i.scan_id
  ORDER BY i.ord
  ON CONFLICT DO NOTHING RETURNING scan_id, received_at
), scan AS (
  INSERT INTO scans (id, ticket_id, session_id, device, door, nonce, result, reason,
                     scanned_at, offline, mode, reentry, pass_id, received_at)
  SELECT i.scan_id, i.ticket_id, i.session_id, i.device, i.door, i.nonce, 'valid', NULL,
         i.scanned_at, false, 'entry', false, NULL, c.received_at
  FROM input i JOIN claimed c ON c.scan_id = i.scan_id ORDER BY i.ord
  RETURNING id
)
SELECT w.scan_id IS NOT NULL AS won  -- the scan CTE runs all the same (it writes)
FROM input i LEFT JOIN won w ON w.scan_id = i.scan_id
ORDER BY i.ord
"""


@dataclass(frozen=True, slots=True)
class FirstEntry:
    scan_id: int
    ticket_id: int
    session_id: int
    device: str
    door: str
    nonce: str
    scanned_at: datetime | None


@dataclass(frozen=True, slots=True)
class Outcome:
    won: bool
    """This scan's entry and valid scan are written: it let the ticket in."""
    replayed: bool = False
    """Its device and nonce were recorded first (a retry, or a scanner reusing a nonce):
    nothing of it was written, the stored scan is the answer."""


class FirstEntries:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.coalescer: Coalescer[FirstEntry, Outcome] = Coalescer(self._write)

    async def record(self, entry: FirstEntry) -> Outcome:
        return await self.coalescer.submit(entry)

    async def _write(self, batch: list[FirstEntry]) -> list[Outcome]:
        """One statement for the batch. An entry won by a scan whose (device, nonce) was
        recorded first has no scan to point to: the foreign key refuses the statement, and
        the batch is written one scan at a time so that only that scan is turned away."""
        try:
            async with connection(self.pool) as conn:
                rows = await conn.fetch(
                    _BATCH,
                    [e.scan_id for e in batch],
                    [e.ticket_id for e in batch],
                    [e.session_id for e in batch],
                    [e.device for e in batch],
                    [e.door for e in batch],
                    [e.nonce for e in batch],
                    [e.scanned_at for e in batch],
                )
        except asyncpg.ForeignKeyViolationError as exc:
            if exc.constraint_name != "entries_scan_id_fkey":
                raise
            if len(batch) == 1:
                return [Outcome(won=False, replayed=True)]
            return [(await self._write([entry]))[0] for entry in batch]
        # a won entry whose scan was not recorded has no scan to point to: the foreign key
        # refused the statement above, so every entry won here has its scan
        return [Outcome(won=r["won"]) for r in rows]
