"""The facts and the refusals of concurrent online scans, each read or written together.

An online scan costs two statements: one reads its facts (:data:`ONLINE_FACTS_BATCH`), one
writes its outcome. At a busy door most of a process's time went into those round trips,
one send and one receive each. Like the first entries
(:mod:`server.door.first_entries`), the scans of a moment now share them
(:class:`server.platform.coalesce.Coalescer`):

- :class:`OnlineFacts` reads the facts of every scan waiting, in one ``SELECT`` over
  ``unnest`` of their (device, nonce, ticket, seed);
- :class:`RefusedScans` stores every refused scan waiting (a forged or unknown code, a
  ticket not valid here, a second entry), in one ``INSERT ... SELECT FROM unnest``.

Nothing is decided by the batch: each scan is decided alone by the pure rules, from its own
facts, and the keys of ``scan_nonces`` (device, nonce) and ``entries`` (session, ticket) judge
the writes as they did one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from server.door.nonces import replay_of
from server.platform.coalesce import Coalescer
from server.platform.db import connection

ONLINE_FACTS_BATCH = f"""
SELECT
  {replay_of("i.device", "i.nonce")} AS replay,
  nextval('scans_id_seq') AS scan_id,
  t.id, t.session_id, s.room_id, t.status, t.code_seed, t.seat_idx, se.label AS seat,
  se.row_label AS row, ta.name AS tariff, s.reentry_allowed,
  EXISTS (SELECT 1 FROM revocations r WHERE r.ticket_id = t.id AND r.seed = i.seed)
    AS revoked,
  e.entered_at, e.door AS entry_door, e.inside
FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bytea[]) WITH ORDINALITY
  AS i(device, nonce, ticket_id, seed, ord)
LEFT JOIN tickets t ON t.id = i.ticket_id
LEFT JOIN sessions s ON s.id = t.session_id
LEFT JOIN tariffs ta ON ta.id = t.tariff_id
LEFT JOIN seats se ON se.plan_id = s.seat_plan_id AND se.idx = t.seat_idx
LEFT JOIN entries e ON e.session_id = t.session_id AND e.ticket_id = t.id
ORDER BY i.ord
"""
"""The facts of each scan: a replay of the same device and nonce, a fresh scan id, the
ticket with its session, seat and tariff, whether this code is revoked, and the ticket's
entry if it has one (a ticket id of 0: no ticket)."""

_REFUSED_BATCH = """
WITH input AS (
  SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[],
                       $6::text[], $7::text[], $8::timestamptz[], $9::text[])
    WITH ORDINALITY
    AS i(scan_id, ticket_id, session_id, device, door, nonce, reason, scanned_at, mode, ord)
), claimed AS (
  INSERT INTO scan_nonces (device, nonce, scan_id)
  SELECT i.device, i.nonce, i.scan_id FROM input i ORDER BY i.ord
  ON CONFLICT DO NOTHING RETURNING scan_id, received_at
), stored AS (
  INSERT INTO scans (id, ticket_id, session_id, device, door, nonce, result, reason,
                     scanned_at, offline, mode, reentry, pass_id, received_at)
  SELECT i.scan_id, i.ticket_id, (SELECT id FROM sessions WHERE id = i.session_id),
         i.device, i.door, i.nonce, 'refused', i.reason, i.scanned_at, false, i.mode,
         false, NULL, c.received_at
  FROM input i JOIN claimed c ON c.scan_id = i.scan_id ORDER BY i.ord
  RETURNING id, session_id
)
SELECT s.id IS NOT NULL AS stored, s.session_id
FROM input i LEFT JOIN stored s ON s.id = i.scan_id ORDER BY i.ord
"""


@dataclass(frozen=True, slots=True)
class FactsQuery:
    device: str
    nonce: str
    ticket_id: int
    """0 when the code names no ticket (forged, unknown)."""
    seed: bytes


@dataclass(frozen=True, slots=True)
class RefusedScan:
    scan_id: int
    ticket_id: int | None
    session_id: int | None
    """The ticket's session, else the one the scanner named (stored as none if it does
    not exist)."""
    device: str
    door: str
    nonce: str
    reason: str
    scanned_at: datetime
    mode: str


@dataclass(frozen=True, slots=True)
class Stored:
    stored: bool
    """False: the same device and nonce were recorded first (a retry)."""
    session_id: int | None


class OnlineFacts:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.coalescer: Coalescer[FactsQuery, asyncpg.Record] = Coalescer(self._read)

    async def read(self, query: FactsQuery) -> asyncpg.Record:
        return await self.coalescer.submit(query)

    async def _read(self, batch: list[FactsQuery]) -> list[asyncpg.Record]:
        async with connection(self.pool) as conn:
            rows: list[asyncpg.Record] = await conn.fetch(
                ONLINE_FACTS_BATCH,
                [q.device for q in batch],
                [q.nonce for q in batch],
                [q.ticket_id for q in batch],
                [q.seed for q in batch],
            )
        return rows


class RefusedScans:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.coalescer: Coalescer[RefusedScan, Stored] = Coalescer(self._write)

    async def record(self, scan: RefusedScan) -> Stored:
        return await self.coalescer.submit(scan)

    async def _write(self, batch: list[RefusedScan]) -> list[Stored]:
        async with connection(self.pool) as conn:
            rows = await conn.fetch(
                _REFUSED_BATCH,
                [s.scan_id for s in batch],
                [s.ticket_id for s in batch],
                [s.session_id for s in batch],
                [s.device for s in batch],
                [s.door for s in batch],
                [s.nonce for s in batch],
                [s.reason for s in batch],
                [s.scanned_at for s in batch],
                [s.mode for s in batch],
            )
        return [Stored(r["stored"], r["session_id"]) for r in rows]
