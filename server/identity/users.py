"""Staff users: create, list, change roles and points of sale, disable, reset passwords.

Every change is recorded in the audit log in its own transaction. A change that takes
rights away (roles, disabling, a new password) also voids the user's tokens: the caller
publishes the returned revocation time (``Revocations.publish``) after the commit, so every
process refuses the old tokens at once and open WebSockets lose their roles.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import asyncpg

from server.identity.auth import check_grant, hash_password
from server.identity.permissions import Permission
from server.identity.roles import ALL_ROLES
from server.platform.audit import SYSTEM, Actor, record
from server.platform.db import connection
from server.platform.errors import Conflict, Forbidden, Invalid, NotFound
from server.web.requests import Page

KINDS = ("desk", "bar", "eshop", "kiosk")

_POINTS_OF_SALE = (
    "coalesce((SELECT json_agg(json_build_object('id', p.id, 'name', p.name, 'kind', p.kind)"
    " ORDER BY p.name) FROM user_points_of_sale up"
    " JOIN points_of_sale p ON p.id = up.point_of_sale_id WHERE up.user_id = u.id), '[]')"
)
USER_COLUMNS = (
    "u.id, u.username, u.display_name, u.roles, u.language, u.disabled_at, u.created_at,"
    f" u.last_sign_in_at, {_POINTS_OF_SALE} AS points_of_sale"
)


def user_json(row: asyncpg.Record) -> dict[str, Any]:
    last = row["last_sign_in_at"]
    return {
        "id": row["id"],
        "username": row["username"],
        "display_name": row["display_name"],
        "roles": sorted(row["roles"]),
        "points_of_sale": json.loads(row["points_of_sale"]),
        "language": row["language"],
        "disabled": row["disabled_at"] is not None,
        "created_at": row["created_at"].isoformat(),
        "last_sign_in_at": last.isoformat() if last else None,
    }


def check_roles(roles: list[str]) -> None:
    unknown = set(roles) - ALL_ROLES
    if unknown:
        raise Invalid("unknown_role", "no such role", roles=sorted(unknown))


def check_password_strength(password: str) -> None:
    if len(password) < 8:
        raise Invalid("weak_password", "passwords have at least 8 characters")


async def fetch_user(conn: asyncpg.Connection, user_id: int) -> dict[str, Any]:
    row = await conn.fetchrow(f"SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1", user_id)
    if row is None:
        raise NotFound.of("user")
    return user_json(row)


async def _set_points_of_sale(conn: asyncpg.Connection, user_id: int, ids: list[int]) -> None:
    known = await conn.fetchval(
        "SELECT count(*) FROM points_of_sale WHERE id = ANY($1::bigint[])", ids
    )
    if known != len(set(ids)):
        raise Invalid("unknown_point_of_sale", "no such point of sale", points_of_sale=ids)
    await conn.execute("DELETE FROM user_points_of_sale WHERE user_id = $1", user_id)
    await conn.executemany(
        "INSERT INTO user_points_of_sale (user_id, point_of_sale_id) VALUES ($1, $2)",
        [(user_id, p) for p in sorted(set(ids))],
    )


async def create_user(
    pool: asyncpg.Pool,
    username: str,
    password: str,
    roles: list[str],
    granter: frozenset[Permission] | None = None,
    *,
    actor: Actor = SYSTEM,
    display_name: str = "",
    points_of_sale: list[int] | None = None,
    language: str | None = None,
) -> int:
    """Create a user, or replace the password and roles of the one so named. With
    ``granter`` (the caller's permissions; ``None`` for the command line), the new roles and
    those of the user replaced must both be grantable by the caller (``cannot_grant``): a
    caller may not take over an account that holds more than it may give. Replacing a user
    voids its tokens (it signs in with the new password)."""
    check_roles(roles)
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
            "INSERT INTO users (username, password_hash, roles, display_name, language)"
            " VALUES ($1, $2, $3, $4, coalesce($5, 'fr'))"
            " ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash,"
            " roles = excluded.roles, display_name = excluded.display_name,"
            " language = coalesce($5, users.language), tokens_valid_after = now()"
            " RETURNING id",
            username,
            password_hash,
            roles,
            display_name,
            language,
        )
        if points_of_sale is not None:
            await _set_points_of_sale(conn, user_id, points_of_sale)
        action = "user.create" if current is None else "user.replace"
        await record(conn, actor, action, f"user:{user_id}", username=username, roles=roles)
    return user_id


async def list_users(pool: asyncpg.Pool, query: str | None, page: Page) -> dict[str, Any]:
    pattern = f"%{query}%" if query else None
    async with connection(pool) as conn:
        rows = await conn.fetch(
            f"SELECT {USER_COLUMNS}, count(*) OVER () AS total FROM users u"
            " WHERE $1::text IS NULL OR u.username ILIKE $1 OR u.display_name ILIKE $1"
            " ORDER BY u.username" + page.sql(),
            pattern,
        )
    total = rows[0]["total"] if rows else 0
    return {**page.body("items", [user_json(r) for r in rows]), "total": total}


async def _locked_roles(conn: asyncpg.Connection, user_id: int) -> list[str]:
    roles = await conn.fetchval("SELECT roles FROM users WHERE id = $1 FOR UPDATE", user_id)
    if roles is None:
        raise NotFound.of("user")
    return list(roles)


def _not_yourself(caller_id: int | None, user_id: int, what: str) -> None:
    if caller_id == user_id:
        raise Forbidden("not_yourself", f"you may not {what} yourself; ask another admin")


async def update_user(
    pool: asyncpg.Pool,
    actor: Actor,
    granter: frozenset[Permission],
    user_id: int,
    changes: dict[str, Any],
) -> tuple[dict[str, Any], datetime | None]:
    """Change display name, language, roles or points of sale; returns the user and, when
    its roles changed, the time before which its tokens are now void."""
    voided: datetime | None = None
    async with connection(pool) as conn, conn.transaction():
        current = await _locked_roles(conn, user_id)
        check_grant(granter, current, "this user holds roles you may not grant")
        if "roles" in changes and sorted(changes["roles"]) != sorted(current):
            _not_yourself(actor.user_id, user_id, "change the roles of")
            check_roles(changes["roles"])
            check_grant(granter, changes["roles"])
            voided = await conn.fetchval(
                "UPDATE users SET roles = $2, tokens_valid_after = now() WHERE id = $1"
                " RETURNING now()",
                user_id,
                changes["roles"],
            )
            await record(
                conn, actor, "user.roles", f"user:{user_id}", before=current, after=changes["roles"]
            )
        for column in ("display_name", "language"):
            if column in changes:
                await conn.execute(
                    f"UPDATE users SET {column} = $2 WHERE id = $1", user_id, changes[column]
                )
        if "points_of_sale" in changes:
            await _set_points_of_sale(conn, user_id, changes["points_of_sale"])
        details = {k: v for k, v in changes.items() if k != "roles"}
        if details:
            await record(conn, actor, "user.update", f"user:{user_id}", **details)
        return await fetch_user(conn, user_id), voided


async def set_disabled(
    pool: asyncpg.Pool,
    actor: Actor,
    granter: frozenset[Permission],
    user_id: int,
    disabled: bool,
) -> tuple[dict[str, Any], datetime | None]:
    """Disable (sign-in refused, every token void at once) or enable a user."""
    if disabled:
        _not_yourself(actor.user_id, user_id, "disable")
    async with connection(pool) as conn, conn.transaction():
        check_grant(
            granter, await _locked_roles(conn, user_id), "this user holds roles you may not grant"
        )
        voided = await conn.fetchval(
            "UPDATE users SET disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, now()) END,"
            " tokens_valid_after = CASE WHEN $2 THEN now() ELSE tokens_valid_after END"
            " WHERE id = $1 RETURNING CASE WHEN $2 THEN now() END",
            user_id,
            disabled,
        )
        await record(conn, actor, "user.disable" if disabled else "user.enable", f"user:{user_id}")
        return await fetch_user(conn, user_id), voided


async def reset_password(
    pool: asyncpg.Pool,
    actor: Actor,
    granter: frozenset[Permission],
    user_id: int,
    password: str,
) -> tuple[dict[str, Any], datetime]:
    """Give a user a new password; its tokens are void (it signs in with the new one)."""
    check_password_strength(password)
    password_hash = await asyncio.to_thread(hash_password, password)
    async with connection(pool) as conn, conn.transaction():
        check_grant(
            granter, await _locked_roles(conn, user_id), "this user holds roles you may not grant"
        )
        voided: datetime = await conn.fetchval(
            "UPDATE users SET password_hash = $2, tokens_valid_after = now() WHERE id = $1"
            " RETURNING now()",
            user_id,
            password_hash,
        )
        await record(conn, actor, "user.password_reset", f"user:{user_id}")
        return await fetch_user(conn, user_id), voided


async def list_points_of_sale(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    async with connection(pool) as conn:
        rows = await conn.fetch("SELECT id, name, kind FROM points_of_sale ORDER BY name")
    return [dict(r) for r in rows]


async def create_point_of_sale(
    pool: asyncpg.Pool, actor: Actor, name: str, kind: str
) -> dict[str, Any]:
    if kind not in KINDS:
        raise Invalid("invalid_field", f"'kind' is one of {', '.join(KINDS)}", field="kind")
    async with connection(pool) as conn, conn.transaction():
        row = await conn.fetchrow(
            "INSERT INTO points_of_sale (name, kind) VALUES ($1, $2)"
            " ON CONFLICT (name) DO NOTHING RETURNING id, name, kind",
            name,
            kind,
        )
        if row is None:
            raise Conflict("name_taken", "a point of sale has this name", field="name")
        await record(conn, actor, "point_of_sale.create", f"point_of_sale:{row['id']}", name=name)
    return dict(row)
