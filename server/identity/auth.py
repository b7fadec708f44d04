"""Authentication and permission checks.

Users sign in with a password (argon2id hashes); they get a bearer token signed with HMAC
by a secret kept in Postgres, so every server process can check it without a lookup.
Anonymous callers are buyers of the public e-shop: they may read the catalogue, hold and buy.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass
from typing import Protocol

import asyncpg
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

from server.identity.permissions import Permission, grantable, permissions_of
from server.platform.db import connection
from server.platform.errors import Forbidden, Unauthenticated

log = logging.getLogger(__name__)

TOKEN_TTL_S = 12 * 3600


def _password_hasher() -> PasswordHasher:
    """argon2id with argon2-cffi's defaults (RFC 9106's low-memory profile: 64 MiB, 3
    passes, about 0.1 s of CPU); ``GUICHET_PASSWORD_HASH=cheapest-for-tests`` takes its
    cheapest parameters instead, for the test suite's thousands of sign-ins only. A hash
    carries its parameters, so either verifies the other's hashes."""
    choice = os.environ.get("GUICHET_PASSWORD_HASH", "standard")
    if choice == "cheapest-for-tests":
        log.warning("passwords are hashed with argon2's cheapest parameters: tests only")
        return PasswordHasher.from_parameters(profiles.CHEAPEST)
    if choice != "standard":
        raise ValueError(
            f"GUICHET_PASSWORD_HASH is 'standard' or 'cheapest-for-tests', not {choice!r}"
        )
    return PasswordHasher()


_hasher = _password_hasher()
DUMMY_HASH = _hasher.hash("no such user")
"""Checked against when the user does not exist, so the answer takes as long as for one who does."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a user (or device) with roles, or an anonymous buyer. Its permissions
    are its roles' presets (``server.identity.permissions``)."""

    user_id: int | None
    username: str | None
    roles: frozenset[str]
    expires_at: float | None = None  # Unix time its token expires (None: anonymous)
    session_id: int | None = None  # the staff session of a page's cookie (None: a bearer token)

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

    def session_ended(self, session_id: int) -> bool: ...


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

    def issue(
        self,
        user_id: int,
        username: str,
        roles: list[str],
        ttl_s: int = TOKEN_TTL_S,
        session_id: int | None = None,
    ) -> str:
        claims: dict[str, object] = {
            "uid": user_id,
            "u": username,
            "r": sorted(roles),
            "exp": int(time.time()) + ttl_s,
            "iat": int(time.time() * 1000),
        }
        if session_id is not None:
            claims["sid"] = session_id
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return body + "." + _b64(self.mac(body))

    def mac(self, text: str) -> bytes:
        """HMAC-SHA256 of ``text`` under the signing secret."""
        return hmac.digest(self._secret, text.encode(), hashlib.sha256)

    def csrf_token(self, session_id: int) -> str:
        """The CSRF token of a staff session: derived from the secret, so every process
        checks it without a lookup, and different for every session."""
        return _b64(self.mac(f"csrf:{session_id}"))

    def verify(self, token: str) -> Principal:
        try:
            body, signature = token.split(".", 1)
            if not hmac.compare_digest(self.mac(body), _unb64(signature)):
                raise ValueError("bad signature")
            claims = json.loads(_unb64(body))
        except ValueError as exc:
            raise Unauthenticated("invalid_token", "the token is invalid") from exc
        if claims["exp"] < time.time():
            raise Unauthenticated("token_expired", "the token has expired; sign in again")
        session_id = claims.get("sid")
        revocations = self.revocations
        if revocations is not None and (
            claims.get("iat", 0) < revocations.valid_after_ms(claims["uid"])
            or (session_id is not None and revocations.session_ended(session_id))
        ):
            raise Unauthenticated("token_revoked", "the token was revoked; sign in again")
        return Principal(
            claims["uid"], claims["u"], frozenset(claims["r"]), claims["exp"], session_id
        )


async def load_secret(pool: asyncpg.Pool) -> bytes:
    """The token-signing secret, created once and shared by every process through Postgres."""
    async with connection(pool) as conn:
        await conn.execute(
            "INSERT INTO settings (name, value) VALUES ('token_secret', $1) ON CONFLICT DO NOTHING",
            secrets.token_urlsafe(32),
        )
        value: str = await conn.fetchval("SELECT value FROM settings WHERE name = 'token_secret'")
    return value.encode()


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
