"""The ticket-code key ring, kept in Postgres and shared by every server process.

The first key is created once, by whichever process starts first (``INSERT ... ON CONFLICT
DO NOTHING`` on its id: concurrent starts agree on one key). Each process caches the ring
and reloads it every ``reload_s`` seconds (``GUICHET_KEY_RELOAD_S``, 30 by default).

A rotation puts the new key on **standby** for twice that long before it signs: by the time
any code carries it, every process has reloaded the ring and verifies it. Should a process
still meet a key id it does not know (its reloads failed meanwhile), it reloads the ring
(at most once a second) before calling the code forged.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import asyncpg

from scanning.codes import (
    KeyRing,
    SigningKey,
    StoredKey,
    TicketClaims,
    TicketScope,
    encode_code,
    verify_code,
)
from server.platform import audit
from server.platform.audit import SYSTEM, Actor
from server.platform.db import connection
from server.platform.errors import Conflict, NotFound

RELOAD_S = 30.0
REFRESH_MIN_S = 1.0  # reloads triggered by unknown key ids: at most one a second
FIRST_KEY_ID = 1
VERIFIED_MAX = 20_000
"""Codes whose signature a process remembers having verified (about 200 bytes each)."""
OPENS_BEFORE_START = timedelta(hours=2)
"""A ticket's code is valid from two hours before its session starts until it ends."""


async def load_ring(pool: asyncpg.Pool) -> KeyRing:
    async with connection(pool) as conn:
        await conn.execute(
            "INSERT INTO signing_keys (key_id, private_key_b64, active)"
            " SELECT $1, $2, true WHERE NOT EXISTS (SELECT 1 FROM signing_keys)"
            " ON CONFLICT DO NOTHING",
            FIRST_KEY_ID,
            SigningKey.generate(FIRST_KEY_ID).to_b64(),
        )
        rows = await conn.fetch(_RING)
    return KeyRing.from_stored(
        StoredKey(r["key_id"], r["private_key_b64"], r["signing"], r["retired"]) for r in rows
    )


# The signing key: the newest key, not retired, whose standby is over.
# (``active`` marks the newest key: the one that signs, or will once its standby is over.)
_SIGNING = "(SELECT max(key_id) FROM signing_keys WHERE NOT retired AND activates_at <= now())"
_RING = (
    "SELECT key_id, private_key_b64, retired, activates_at,"
    f" coalesce(key_id = {_SIGNING}, false) AS signing FROM signing_keys ORDER BY key_id"
)


class KeyStore:
    """The cached key ring of this process."""

    def __init__(self, pool: asyncpg.Pool, reload_s: float = RELOAD_S) -> None:
        self.pool = pool
        self.reload_s = reload_s
        self._ring: KeyRing | None = None
        self._public: dict[int, bytes] = {}
        self._loaded_at = 0.0
        self._verified: dict[str, TicketClaims] = {}

    async def ring(self) -> KeyRing:
        if self._ring is None or time.monotonic() - self._loaded_at > self.reload_s:
            ring = await load_ring(self.pool)
            # derived once per load: a public key is a scalar multiplication, and every
            # scan's signature check needs them
            public = ring.public_keys()
            if public != self._public:  # a key came or went: verify every code again
                self._verified.clear()
            self._ring, self._public = ring, public
            self._loaded_at = time.monotonic()
        return self._ring

    async def refresh(self) -> bool:
        """Reload now, unless the ring is younger than ``REFRESH_MIN_S`` (a flood of forged
        codes must not become a flood of queries). True when it reloaded."""
        if self._ring is not None and time.monotonic() - self._loaded_at < REFRESH_MIN_S:
            return False
        self._ring = None
        await self.ring()
        return True

    def forget(self) -> None:
        """Reload on next use (this process changed the keys; others follow within
        ``RELOAD_S``)."""
        self._ring = None

    async def public_keys(self) -> dict[int, bytes]:
        """The live keys' public halves (the caller must not change the mapping)."""
        await self.ring()
        return self._public

    async def verified(self, code: str) -> TicketClaims:
        """``verify_code`` against the live keys, remembered per key set: a wallet's code is
        shown at a bar for every drink, and its signature cannot change while the keys do
        not (whether the code is still its holder's current one is the caller's check of
        the seed, against Postgres). ``CodeError`` when it does not verify."""
        public = await self.public_keys()
        claims = self._verified.get(code)
        if claims is None:
            claims = verify_code(code, public)
            if len(self._verified) >= VERIFIED_MAX:
                del self._verified[next(iter(self._verified))]  # the oldest
            self._verified[code] = claims
        return claims


def ticket_claims(
    ticket_id: int, session_id: int, starts_at: datetime, ends_at: datetime, seed: bytes
) -> TicketClaims:
    return TicketClaims(
        ticket_id=ticket_id,
        scope=TicketScope.SESSION,
        scope_id=session_id,
        valid_from=int((starts_at - OPENS_BEFORE_START).timestamp()),
        valid_until=int(ends_at.timestamp()),
        seed=seed,
    )


async def ticket_code(
    store: KeyStore,
    ticket_id: int,
    session_id: int,
    starts_at: datetime,
    ends_at: datetime,
    seed: bytes,
) -> str:
    """The ticket's current code (Ed25519 is deterministic: the same code every time)."""
    claims = ticket_claims(ticket_id, session_id, starts_at, ends_at, seed)
    return encode_code(claims, await store.ring())


MAX_KEY_ID = 255


async def rotate_key(
    pool: asyncpg.Pool, standby_s: float, actor: Actor = SYSTEM
) -> dict[str, object]:
    """A new signing key, on standby for ``standby_s`` seconds, then signing. The previous
    keys stay valid for the codes they signed (scanners keep their public keys) until an
    admin retires them."""
    async with connection(pool) as conn, conn.transaction():
        await conn.execute("LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE")
        last = await conn.fetchval("SELECT max(key_id) FROM signing_keys")
        key_id = FIRST_KEY_ID if last is None else last + 1
        if key_id > MAX_KEY_ID:
            raise Conflict("key_ids_exhausted", "no key id left; retire keys and reuse none")
        await conn.execute("UPDATE signing_keys SET active = false WHERE active")
        activates_at = await conn.fetchval(
            "INSERT INTO signing_keys (key_id, private_key_b64, active, activates_at)"
            " VALUES ($1, $2, true, now() + make_interval(secs => $3::float8))"
            " RETURNING activates_at",
            key_id,
            SigningKey.generate(key_id).to_b64(),
            float(standby_s),
        )
        await audit.record(conn, actor, "key.rotate", f"signing_key:{key_id}")
    return {"key_id": key_id, "state": "standby", "activates_at": activates_at.isoformat()}


async def retire_key(pool: asyncpg.Pool, key_id: int, actor: Actor = SYSTEM) -> dict[str, object]:
    """Retire a key that no longer signs: its private key is destroyed and codes it signed
    are refused as ``forged`` at every door (after scanners refresh their keys)."""
    async with connection(pool) as conn, conn.transaction():
        row = await conn.fetchrow(
            f"SELECT key_id = {_SIGNING} AS signing, activates_at > now() AS standby"
            " FROM signing_keys WHERE key_id = $1",
            key_id,
        )
        if row is None:
            raise NotFound.of("signing key")
        if row["signing"] or row["standby"]:
            raise Conflict("key_active", "rotate to a new key before retiring this one")
        await conn.execute(
            "UPDATE signing_keys SET retired = true, active = false, private_key_b64 = NULL"
            " WHERE key_id = $1",
            key_id,
        )
        await audit.record(conn, actor, "key.retire", f"signing_key:{key_id}")
    return {"key_id": key_id, "retired": True}


async def list_keys(pool: asyncpg.Pool) -> list[dict[str, object]]:
    async with connection(pool) as conn:
        rows = await conn.fetch(
            "SELECT key_id, retired, created_at, activates_at, activates_at > now() AS standby,"
            f" coalesce(key_id = {_SIGNING}, false) AS signing"
            " FROM signing_keys ORDER BY key_id"
        )
    return [
        {
            "key_id": r["key_id"],
            "state": "retired"
            if r["retired"]
            else "active"
            if r["signing"]
            else "standby"
            if r["standby"]
            else "verifying",
            "active": r["signing"],
            "retired": r["retired"],
            "created_at": r["created_at"].isoformat(),
            "activates_at": r["activates_at"].isoformat(),
        }
        for r in rows
    ]
