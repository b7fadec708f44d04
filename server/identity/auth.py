"""Authentication and permission checks.

Users sign in with a password (argon2id hashes); they get a bearer token signed with HMAC
by a secret kept in Postgres, so every server process can check it without a lookup.
Anonymous callers are buyers of the public e-shop: they may read the catalogue, hold and buy.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Protocol

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.requests import HTTPConnection

from server.identity.permissions import Permission, grantable, permissions_of
from server.identity.roles import ALL_ROLES
from server.platform.db import connection
from server.platform.errors import Forbidden, Invalid, Unauthenticated

TOKEN_TTL_S = 12 * 3600
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("no such user")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a user (or device) with roles, or an anonymous buyer. Its permissions
    are its roles' presets (``server.identity.permissions``)."""

    user_id: int | None
    username: str | None
    roles: frozenset[str]
    expires_at: float | None = None  # Unix time its token expires (None: anonymous)

    @property
    def anonymous(self) -> bool:
        return self.user_id is None

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_of(self.roles)

    def can(self, *permissions: Permission) -> bool:
        """Holds one of ``permissions`` (``admin`` holds them all)."""
        held = self.permissions
        return any(p in held for p in permissions)


ANONYMOUS = Principal(None, None, frozenset())


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class Revoked(Protocol):
    def valid_after_ms(self, principal_id: int) -> int: ...


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Issues and checks bearer tokens; with ``revocations`` (a map of principal id to the
    time, in ms, before which its tokens are void), revoked ones are refused."""

    def __init__(self, secret: bytes, revocations: Revoked | None = None) -> None:
        self._secret = secret
        self.revocations = revocations

    def issue(self, user_id: int, username: str, roles: list[str], ttl_s: int = TOKEN_TTL_S) -> str:
        claims = {
            "uid": user_id,
            "u": username,
            "r": sorted(roles),
            "exp": int(time.time()) + ttl_s,
            "iat": int(time.time() * 1000),
        }
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return body + "." + _b64(hmac.digest(self._secret, body.encode(), hashlib.sha256))

    def verify(self, token: str) -> Principal:
        try:
            body, signature = token.split(".", 1)
            expected = hmac.digest(self._secret, body.encode(), hashlib.sha256)
            if not hmac.compare_digest(expected, _unb64(signature)):
                raise ValueError("bad signature")
            claims = json.loads(_unb64(body))
        except ValueError as exc:
            raise Unauthenticated("invalid_token", "the token is invalid") from exc
        if claims["exp"] < time.time():
            raise Unauthenticated("token_expired", "the token has expired; sign in again")
        if self.revocations is not None and claims.get("iat", 0) < self.revocations.valid_after_ms(
            claims["uid"]
        ):
            raise Unauthenticated("token_revoked", "the token was revoked; sign in again")
        return Principal(claims["uid"], claims["u"], frozenset(claims["r"]), claims["exp"])


async def load_secret(pool: asyncpg.Pool) -> bytes:
    """The token-signing secret, created once and shared by every process through Postgres."""
    async with connection(pool) as conn:
        await conn.execute(
            "INSERT INTO settings (name, value) VALUES ('token_secret', $1) ON CONFLICT DO NOTHING",
            secrets.token_urlsafe(32),
        )
        value: str = await conn.fetchval("SELECT value FROM settings WHERE name = 'token_secret'")
    return value.encode()


def principal_of(conn: HTTPConnection, signer: TokenSigner) -> Principal:
    header = conn.headers.get("authorization", "")
    if not header:
        return ANONYMOUS
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("invalid_token", "use 'Authorization: Bearer <token>'")
    return signer.verify(token.strip())


def require(principal: Principal, *permissions: Permission) -> Principal:
    """Raise 401/403 unless the caller holds one of ``permissions``: the check of every
    declaration, and of the finer rules a handler states itself."""
    if principal.can(*permissions):
        return principal
    if principal.anonymous:
        raise Unauthenticated("authentication_required", "sign in to do this")
    raise Forbidden(
        "forbidden", "your roles do not allow this", needs=[p.value for p in permissions]
    )


def check_grant(
    granter: frozenset[Permission], roles: list[str], message: str = "you may not grant these roles"
) -> None:
    """403 ``cannot_grant`` (with the roles beyond reach) unless someone holding ``granter``
    may give ``roles``."""
    if not grantable(granter, roles):
        beyond = sorted(r for r in roles if not grantable(granter, [r]))
        raise Forbidden("cannot_grant", message, roles=beyond)


async def create_user(
    pool: asyncpg.Pool,
    username: str,
    password: str,
    roles: list[str],
    granter: frozenset[Permission] | None = None,
) -> int:
    """Create a user, or replace the password and roles of the one so named. With
    ``granter`` (the caller's permissions; ``None`` for the command line), the new roles and
    those of the user replaced must both be grantable by the caller (``cannot_grant``): a
    caller may not take over an account that holds more than it may give."""
    unknown = set(roles) - ALL_ROLES
    if unknown:
        raise Invalid("unknown_role", "no such role", roles=sorted(unknown))
    if granter is not None:
        check_grant(granter, roles)
    password_hash = await asyncio.to_thread(hash_password, password)
    async with connection(pool) as conn, conn.transaction():
        current = await conn.fetchval(
            "SELECT roles FROM users WHERE username = $1 FOR UPDATE", username
        )
        if granter is not None and current is not None:
            check_grant(granter, list(current), "this user holds roles you may not grant")
        user_id: int = await conn.fetchval(
            "INSERT INTO users (username, password_hash, roles) VALUES ($1, $2, $3)"
            " ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash,"
            " roles = excluded.roles RETURNING id",
            username,
            password_hash,
            roles,
        )
    return user_id


async def sign_in(
    pool: asyncpg.Pool, signer: TokenSigner, username: str, password: str
) -> dict[str, object]:
    async with connection(pool) as conn:
        row = await conn.fetchrow("SELECT * FROM users WHERE username = $1", username)
    # argon2 takes ~0.25 s of CPU: off the event loop. An unknown user is checked against a
    # dummy hash so the answer takes as long as for a known one.
    stored = row["password_hash"] if row is not None else _DUMMY_HASH
    if not await asyncio.to_thread(check_password, stored, password) or row is None:
        raise Unauthenticated("bad_credentials", "wrong username or password")
    token = signer.issue(row["id"], username, list(row["roles"]))
    return {
        "token": token,
        "user": {"id": row["id"], "username": username, "roles": list(row["roles"])},
    }
