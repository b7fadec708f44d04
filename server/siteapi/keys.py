"""API keys of the organiser's websites: made by an admin (the key is shown once, only its
SHA-256 is kept), listed, revoked; each with its name, the origins CORS lets in and its
requests a minute. Creating and revoking a key is in the audit log."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from server.platform.audit import Actor, record
from server.platform.db import connection
from server.platform.errors import Conflict, Invalid, NotFound, Unauthenticated

KEY_PREFIX = "gk_"
KEY_PATTERN = r"^gk_[A-Za-z0-9_-]{43}$"
_KEY = re.compile(KEY_PATTERN)
MAX_ORIGINS = 20
ORIGIN_PATTERN = r"^https?://[a-z0-9.-]{1,253}(:[0-9]{1,5})?$"
_ORIGIN = re.compile(ORIGIN_PATTERN)
_COLUMNS = "id, name, prefix, origins, rate_per_minute, created_at, revoked_at"


@dataclass(frozen=True, slots=True)
class WebsiteKey:
    """A valid key, as a request of its website carries it."""

    id: int
    name: str
    origins: frozenset[str]
    rate_per_minute: int


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def normal_origin(text: str) -> str:
    """``scheme://host[:port]`` in lower case, as browsers send ``Origin``; 400
    ``invalid_origin`` for anything else (a path, a wildcard, ``null``)."""
    origin = text.strip().lower().rstrip("/")
    parts = urlsplit(origin)
    if not _ORIGIN.match(origin) or parts.path or parts.query or parts.username:
        raise Invalid("invalid_origin", f"not an origin: {text[:100]!r}", field="origins")
    return origin


def key_json(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "prefix": row["prefix"],
        "origins": list(row["origins"]),
        "rate_per_minute": row["rate_per_minute"],
        "created_at": row["created_at"].isoformat(),
        "revoked_at": row["revoked_at"].isoformat() if row["revoked_at"] else None,
    }


class ApiKeys:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def create(
        self, name: str, origins: list[str], rate_per_minute: int, actor: Actor
    ) -> dict[str, Any]:
        """A new key: the answer holds the key itself, the only time it is shown."""
        allowed = sorted({normal_origin(o) for o in origins})
        if len(allowed) > MAX_ORIGINS:
            raise Invalid("invalid_origin", f"at most {MAX_ORIGINS} origins", field="origins")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        async with connection(self.pool) as conn, conn.transaction():
            row = await conn.fetchrow(
                "INSERT INTO api_keys (name, prefix, key_hash, origins, rate_per_minute,"
                f" created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_COLUMNS}",
                name,
                key[:8],
                digest(key),
                allowed,
                rate_per_minute,
                actor.user_id if actor.user_id and actor.user_id > 0 else None,
            )
            await record(
                conn,
                actor,
                "api_key.create",
                f"api_key:{row['id']}",
                name=name,
                origins=allowed,
                rate_per_minute=rate_per_minute,
            )
        return {**key_json(row), "key": key}

    async def list(self) -> list[dict[str, Any]]:
        async with connection(self.pool) as conn:
            rows = await conn.fetch(f"SELECT {_COLUMNS} FROM api_keys ORDER BY id")
        return [key_json(r) for r in rows]

    async def revoke(self, key_id: int, actor: Actor) -> dict[str, Any]:
        """Revoke a key: from this commit on, no process accepts it (409 ``already_revoked``
        the second time)."""
        async with connection(self.pool) as conn, conn.transaction():
            was = await conn.fetchrow(
                "SELECT revoked_at FROM api_keys WHERE id = $1 FOR UPDATE", key_id
            )
            if was is None:
                raise NotFound("unknown_api_key", "no such API key")
            if was["revoked_at"] is not None:
                raise Conflict("already_revoked", "this key is already revoked")
            row = await conn.fetchrow(
                f"UPDATE api_keys SET revoked_at = now() WHERE id = $1 RETURNING {_COLUMNS}",
                key_id,
            )
            await record(conn, actor, "api_key.revoke", f"api_key:{key_id}", name=row["name"])
        return key_json(row)

    async def authenticate(self, key: str) -> WebsiteKey:
        """The valid key a request carries: 401 ``invalid_api_key`` for a malformed,
        unknown or revoked one. Read from Postgres each time, so a revocation holds at
        once in every process."""
        if not _KEY.match(key):
            raise Unauthenticated("invalid_api_key", "this API key is not valid")
        async with connection(self.pool) as conn:
            row = await conn.fetchrow(
                "SELECT id, name, origins, rate_per_minute FROM api_keys"
                " WHERE key_hash = $1 AND revoked_at IS NULL",
                digest(key),
            )
        if row is None:
            raise Unauthenticated("invalid_api_key", "this API key is not valid")
        return WebsiteKey(row["id"], row["name"], frozenset(row["origins"]), row["rate_per_minute"])

    async def origin_known(self, origin: str) -> bool:
        """Does a valid key allow this origin? (A CORS preflight carries no key.)"""
        async with connection(self.pool) as conn:
            found = await conn.fetchval(
                "SELECT 1 FROM api_keys WHERE revoked_at IS NULL AND $1 = ANY(origins) LIMIT 1",
                origin,
            )
        return found is not None
