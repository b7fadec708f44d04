"""Signing in: passwords checked off the event loop, failed attempts limited per user and
per address, bearer tokens for devices and API clients, cookie sessions for staff pages.

A staff session is a row of ``staff_sessions`` and a signed token naming it, kept in an
HttpOnly, SameSite=Strict cookie. Every process checks the token by its HMAC; ending the
session (sign-out, a password change) is published like any revocation
(``server.identity.revocations``), so every process refuses it at once. State-changing
requests made with the cookie carry the session's CSRF token in ``X-CSRF-Token``
(``server.identity.credentials``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, replace
from typing import Any

import asyncpg

from server.identity.auth import (
    DUMMY_HASH,
    TOKEN_TTL_S,
    TokenSigner,
    check_password,
    hash_password,
)
from server.identity.revocations import Revocations
from server.identity.users import USER_COLUMNS, user_json
from server.platform.audit import Actor, record
from server.platform.db import connection
from server.platform.errors import Forbidden, RateLimited, Unauthenticated
from server.platform.redis_client import Client
from server.platform.scripts import REDIS_DOWN

log = logging.getLogger(__name__)

COOKIE = "guichet_session"


@dataclass(frozen=True, slots=True)
class Throttle:
    """Failed sign-ins counted in Redis per username and per address over a window; past
    the limit, sign-in is refused (before any password check) until the window ends.
    Every process shares the counts. With Redis down, sign-in is not limited (logged)."""

    client: Client
    user_limit: int
    address_limit: int
    window_s: int

    @staticmethod
    def _keys(username: str, address: str | None) -> tuple[str, str]:
        # One hash tag per name: the counters spread over a cluster's slots.
        return f"gq:signin:{{u:{username.lower()}}}", f"gq:signin:{{a:{address or '-'}}}"

    async def check(self, username: str, address: str | None) -> None:
        user_key, address_key = self._keys(username, address)
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for key in (user_key, address_key):
                    pipe.get(key)
                    pipe.ttl(key)
                user_n, user_ttl, address_n, address_ttl = await pipe.execute()
        except REDIS_DOWN:
            log.warning("sign-in attempts are not limited: Redis is unavailable")
            return
        waits = [
            ttl
            for count, ttl, limit in (
                (user_n, user_ttl, self.user_limit),
                (address_n, address_ttl, self.address_limit),
            )
            if count is not None and int(count) >= limit
        ]
        if waits:
            wait = max(max(waits), 1)
            raise RateLimited(
                "too_many_attempts",
                f"too many failed sign-ins: try again in {wait} seconds",
                retry_after=wait,
            )

    async def failed(self, username: str, address: str | None) -> None:
        with contextlib.suppress(*REDIS_DOWN):
            async with self.client.pipeline(transaction=False) as pipe:
                for key in self._keys(username, address):
                    pipe.incr(key)
                    pipe.expire(key, self.window_s, nx=True)
                await pipe.execute()

    async def succeeded(self, username: str, address: str | None) -> None:
        with contextlib.suppress(*REDIS_DOWN):
            await self.client.delete(self._keys(username, address)[0])


async def check_credentials(
    pool: asyncpg.Pool, throttle: Throttle, username: str, password: str, address: str | None
) -> asyncpg.Record:
    """The user row, once the password is right; 429 past the limit of failures, 401
    ``bad_credentials``, 403 ``user_disabled`` (said only to whoever knows the password)."""
    await throttle.check(username, address)
    async with connection(pool) as conn:
        row = await conn.fetchrow(
            f"SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.username = $1",
            username,
        )
    # argon2 takes ~0.25 s of CPU: off the event loop.
    stored = row["password_hash"] if row is not None else DUMMY_HASH
    if not await asyncio.to_thread(check_password, stored, password) or row is None:
        await throttle.failed(username, address)
        raise Unauthenticated("bad_credentials", "wrong username or password")
    await throttle.succeeded(username, address)
    if row["disabled_at"] is not None:
        raise Forbidden("user_disabled", "this account is disabled; ask an administrator")
    return row


async def sign_in(
    pool: asyncpg.Pool,
    signer: TokenSigner,
    throttle: Throttle,
    username: str,
    password: str,
    address: str | None,
) -> dict[str, object]:
    """A bearer token (devices and API clients)."""
    row = await check_credentials(pool, throttle, username, password, address)
    async with connection(pool) as conn:
        await conn.execute("UPDATE users SET last_sign_in_at = now() WHERE id = $1", row["id"])
    token = signer.issue(row["id"], username, list(row["roles"]))
    return {
        "token": token,
        "user": {"id": row["id"], "username": username, "roles": sorted(row["roles"])},
    }


async def start_session(
    pool: asyncpg.Pool,
    signer: TokenSigner,
    row: asyncpg.Record,
    actor: Actor,
    user_agent: str | None,
) -> tuple[str, dict[str, Any]]:
    """A new staff session for a user whose password was checked: (cookie token, reply)."""
    actor = replace(actor, user_id=row["id"], name=row["username"])
    async with connection(pool) as conn, conn.transaction():
        session_id, expires = await conn.fetchrow(
            "INSERT INTO staff_sessions (user_id, expires_at, address, user_agent)"
            " VALUES ($1, now() + make_interval(secs => $2), $3, $4)"
            " RETURNING id, extract(epoch FROM expires_at)::bigint",
            row["id"],
            TOKEN_TTL_S,
            actor.address,
            (user_agent or "")[:300],
        )
        await conn.execute("UPDATE users SET last_sign_in_at = now() WHERE id = $1", row["id"])
        await record(conn, actor, "session.start", f"user:{row['id']}", session=session_id)
    token = signer.issue(row["id"], row["username"], list(row["roles"]), session_id=session_id)
    user = user_json(row)
    return token, {"user": user, "csrf": signer.csrf_token(session_id), "expires_at": expires}


async def end_session(
    pool: asyncpg.Pool, revocations: Revocations, session_id: int, actor: Actor
) -> None:
    """Sign out: the session is void in every process (its cookie, its WebSockets)."""
    async with connection(pool) as conn, conn.transaction():
        ended = await conn.fetchval(
            "UPDATE staff_sessions SET ended_at = coalesce(ended_at, now()) WHERE id = $1"
            " RETURNING ended_at",
            session_id,
        )
        await record(conn, actor, "session.end", f"session:{session_id}")
    if ended is not None:
        await revocations.end_session(session_id)


async def change_password(
    pool: asyncpg.Pool,
    signer: TokenSigner,
    revocations: Revocations,
    throttle: Throttle,
    username: str,
    current: str,
    new: str,
    actor: Actor,
    user_agent: str | None,
) -> tuple[str, dict[str, Any]]:
    """A user changes their own password: every token and session of theirs is void, and
    the page that asked gets a new session (cookie token, reply)."""
    row = await check_credentials(pool, throttle, username, current, actor.address)
    password_hash = await asyncio.to_thread(hash_password, new)
    async with connection(pool) as conn, conn.transaction():
        voided = await conn.fetchval(
            "UPDATE users SET password_hash = $2, tokens_valid_after = now() WHERE id = $1"
            " RETURNING now()",
            row["id"],
            password_hash,
        )
        await record(conn, actor, "user.password_change", f"user:{row['id']}")
    await revocations.publish(row["id"], voided)
    return await start_session(pool, signer, row, actor, user_agent)
