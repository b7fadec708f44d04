"""The outbox: what the live mirror must learn after a Postgres commit, crash-safe.

A sale, refund, release, seat block or plan change writes an outbox entry in the same
transaction as the change itself. After the commit, the committing process applies the
entry to Redis at once and deletes it (deletes are batched). If the process dies, or Redis
fails, between the commit and the apply, the entry stays: the outbox worker of *any*
process applies it once it is ``STALE_AFTER_S`` old (and at start-up).

An entry is applied at most once: each Lua script marks its entry applied in Redis
(``gq:{s:<id>}:ob:<entry>``), and a mirror rebuilt from Postgres marks the entries pending in
the snapshot it was built from, whose effect it already has.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import asyncpg

from server.platform.db import connection
from server.platform.errors import DomainError
from server.platform.loops import every
from server.seating.live import HoldRefused, Live

log = logging.getLogger(__name__)

STALE_AFTER_S = 2.0  # the committing process applies its entry well within this
BATCH = 200


class Op(StrEnum):
    SELL = "sell"  # args: token, seats, quantity
    UNSELL = "unsell"  # args: seats, places, blocked (seats back to blocked)
    BLOCK = "block"  # args: seats, blocked
    RELOAD = "reload"  # the session's plan changed: rebuild its mirror
    CAPACITY = "capacity"  # args: capacity (general admission; holds stay)


async def record(
    conn: asyncpg.Connection, session_id: int, op: Op, args: dict[str, Any] | None = None
) -> int:
    """Write an entry inside the caller's transaction; returns its id."""
    entry: int = await conn.fetchval(
        "INSERT INTO outbox (session_id, op, args) VALUES ($1, $2, $3::jsonb) RETURNING id",
        session_id,
        op.value,
        json.dumps(args or {}),
    )
    return entry


class Outbox:
    def __init__(self, pool: asyncpg.Pool, live: Live) -> None:
        self.pool = pool
        self.live = live
        self._done: list[int] = []

    async def apply(self, entry: int, session_id: int, op: Op, args: dict[str, Any]) -> None:
        """Tell Redis; raises ``Unavailable`` when it cannot (the entry then waits)."""
        if op is Op.SELL:
            await self.live.sell(
                session_id, args["token"], args["seats"], args["quantity"], outbox_id=entry
            )
        elif op is Op.UNSELL:
            await self.live.unsell(
                session_id, args["seats"], args["places"], entry, args.get("blocked", ())
            )
        elif op is Op.CAPACITY:
            await self.live.set_capacity(session_id, args["capacity"], entry)
        elif op is Op.BLOCK:
            with contextlib.suppress(HoldRefused):  # applied in its transaction already
                await self.live.block(session_id, args["seats"], args["blocked"], outbox_id=entry)
        else:
            await self.live.invalidate(session_id)

    async def apply_now(
        self, entry: int, session_id: int, op: Op, args: dict[str, Any] | None = None
    ) -> bool:
        """The committing process's own apply; on failure the worker takes over."""
        try:
            await self.apply(entry, session_id, op, args or {})
        except DomainError as exc:
            log.warning("outbox entry %s (%s) left for the worker: %s", entry, op, exc.code)
            return False
        self.done(entry)
        return True

    def done(self, entry: int) -> None:
        self._done.append(entry)

    async def _delete_done(self) -> None:
        done, self._done = self._done, []
        if not done:
            return
        try:
            async with connection(self.pool) as conn:
                await conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", done)
        except DomainError:
            self._done.extend(done)  # Postgres is down: delete them later

    async def repair(self, stale_after_s: float = STALE_AFTER_S) -> int:
        """Apply the entries left behind; returns how many. Safe in every process at once
        (rows are locked with SKIP LOCKED, applies are idempotent)."""
        async with connection(self.pool) as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT id, session_id, op, args FROM outbox"
                " WHERE created_at < now() - make_interval(secs => $1)"
                " ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED",
                stale_after_s,
                BATCH,
            )
            applied = await self._apply_rows(rows)
            if applied:
                await conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", applied)
        if applied:
            log.info("outbox: applied %d entries left behind", len(applied))
        return len(applied)

    async def _apply_rows(self, rows: Sequence[asyncpg.Record]) -> list[int]:
        applied = []
        for row in rows:
            try:
                await self.apply(
                    row["id"], row["session_id"], Op(row["op"]), json.loads(row["args"])
                )
            except DomainError:
                break  # Redis is down: try again on the next round
            applied.append(row["id"])
        return applied

    async def run(self, interval_s: float = 1.0) -> None:
        """The worker: batched deletes of applied entries, repairs of stale ones."""
        await every(interval_s, self._round, "outbox worker")

    async def _round(self) -> None:
        await self._delete_done()
        await self.repair()
