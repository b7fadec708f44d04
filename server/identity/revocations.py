"""Revoked tokens: the tokens of a user issued before a time, of a device once revoked, or
of a staff session once ended, are refused by every process at once.

Bearer tokens are checked without a lookup (an HMAC); what makes them revocable is this
small map, per principal id, of the time before which its tokens are void, kept in every
process, and the set of ended staff sessions that have not expired yet. Postgres holds
them (``users.tokens_valid_after``, ``devices.revoked_at``, ``staff_sessions.ended_at``); a
revocation is published on Redis so every process learns it at once, and each process
reloads the map from Postgres every ``RELOAD_S`` seconds and after a lost pub/sub
connection, so a message lost (or a process that died before publishing) is repaired.
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime

import asyncpg

from server.platform.audit import SYSTEM, Actor, record
from server.platform.db import connection
from server.platform.redis_client import Client
from server.platform.scripts import REDIS_DOWN

CHANNEL = "gq:auth:revocations"
RELOAD_S = 10.0


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


class Revocations:
    def __init__(self, pool: asyncpg.Pool, client: Client) -> None:
        self.pool = pool
        self.redis = client
        self._after: dict[int, int] = {}  # principal id -> tokens issued before (ms) are void
        self._ended: set[int] = set()  # staff sessions ended before they expired

    def valid_after_ms(self, principal_id: int) -> int:
        return self._after.get(principal_id, 0)

    def session_ended(self, session_id: int) -> bool:
        return session_id in self._ended

    async def load(self) -> None:
        async with connection(self.pool) as conn:
            rows = await conn.fetch(
                "SELECT id, tokens_valid_after AS at FROM users"
                " WHERE tokens_valid_after IS NOT NULL"
                " UNION ALL SELECT -id, revoked_at FROM devices WHERE revoked_at IS NOT NULL"
            )
            ended = await conn.fetch(
                "SELECT id FROM staff_sessions WHERE ended_at IS NOT NULL AND expires_at > now()"
            )
        self._after = {r["id"]: _ms(r["at"]) for r in rows}
        self._ended = {r["id"] for r in ended}

    def apply(self, data: bytes | str) -> tuple[int | None, int | None]:
        """A revocation published by a process: (principal id, None) for a principal's
        tokens, (None, session id) for an ended staff session."""
        message = json.loads(data)
        if "sid" in message:
            self._ended.add(int(message["sid"]))
            return None, int(message["sid"])
        principal_id, after = int(message["id"]), int(message["after_ms"])
        self._after[principal_id] = max(self._after.get(principal_id, 0), after)
        return principal_id, None

    async def publish(self, principal_id: int, at: datetime) -> None:
        """After the revocation's commit: tell every process (one that misses it reloads)."""
        self._after[principal_id] = max(self.valid_after_ms(principal_id), _ms(at))
        message = json.dumps({"id": principal_id, "after_ms": _ms(at)})
        with contextlib.suppress(*REDIS_DOWN):  # else the others reload within RELOAD_S
            await self.redis.spublish(CHANNEL, message)

    async def end_session(self, session_id: int) -> None:
        """After the sign-out's commit: tell every process."""
        self._ended.add(session_id)
        with contextlib.suppress(*REDIS_DOWN):
            await self.redis.spublish(CHANNEL, json.dumps({"sid": session_id}))


async def revoke_user_tokens(
    pool: asyncpg.Pool, revocations: Revocations, user_id: int, actor: Actor = SYSTEM
) -> bool:
    async with connection(pool) as conn, conn.transaction():
        at = await conn.fetchval(
            "UPDATE users SET tokens_valid_after = now() WHERE id = $1 RETURNING now()", user_id
        )
        if at is not None:
            await record(conn, actor, "user.revoke_tokens", f"user:{user_id}")
    if at is None:
        return False
    await revocations.publish(user_id, at)
    return True


async def revoke_device(
    pool: asyncpg.Pool, revocations: Revocations, device_id: int, actor: Actor = SYSTEM
) -> bool:
    async with connection(pool) as conn, conn.transaction():
        at = await conn.fetchval(
            "UPDATE devices SET revoked_at = coalesce(revoked_at, now()),"
            " enrolment_code = NULL WHERE id = $1 RETURNING revoked_at",
            device_id,
        )
        if at is not None:
            await record(conn, actor, "device.revoke", f"device:{device_id}")
    if at is None:
        return False
    await revocations.publish(-device_id, at)
    return True
